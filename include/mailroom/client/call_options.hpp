#pragma once

#include <mailroom/client/diagnostics.hpp>
#include <mailroom/trace_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace mailroom {

namespace detail {

/** What calls are cancelled on: the station's state for one server. Internal; declared here
    only so that a @ref cancellation can hold it.
*/
class cancel_target {
public:
    /// Completes call `id` with `error::cancelled` if it is still pending.
    virtual void cancel_call(std::uint64_t id) = 0;

protected:
    ~cancel_target() = default;
};

struct cancellation_access;

} // namespace detail

class failure_policy;

namespace metrics {
class series_slot;
}

/** Cancels the calls it is attached to (through @ref call_options::cancel): each one still
    pending completes once, with `error::cancelled` (which compares equal to
    `std::errc::operation_canceled`, what Asio's `operation_aborted` compares equal to). A call
    attached after `cancel()` completes so at once; a call already completed is left alone.

    @par Thread safety
    `cancel` may be called from any thread, concurrently with the calls.

    @par Example
    @code
    auto stop = std::make_shared<mailroom::cancellation>();
    rpc.async_call<int>(path, key, args, {.cancel = stop}, handler);
    stop->cancel(); // handler gets error::cancelled unless the result came first
    @endcode
*/
class cancellation {
public:
    void cancel();
    bool cancelled() const;

private:
    friend struct detail::cancellation_access;

    mutable std::mutex mu_;
    bool cancelled_ = false;
    std::vector<std::pair<std::weak_ptr<detail::cancel_target>, std::uint64_t>> calls_;
};

/// Per-call settings.
struct call_options {
    /// How long to wait for the response; zero means the station's `request_timeout`. The
    /// callee receives the time that remains when the call leaves (its deadline).
    std::chrono::milliseconds timeout{0};
    /// Cancels the call on demand; null: not cancellable.
    std::shared_ptr<cancellation> cancel{};
    /** Receives the remote's message when the call fails (see @ref diagnostics); null: the
        message is dropped. Owned by the caller, alive until the call completed. A typed
        stub takes it as an argument before the completion token instead.
    */
    diagnostics* diag = nullptr;
    /** What happens when an attempt fails (failover, failsafe, failback, or your own; see
        client/failure_policy.hpp); null: the proxy's policy for the server type, if any,
        else failfast.
    */
    std::shared_ptr<failure_policy> policy{};
    /** The trace this call continues (a handler passes its `call_context::trace`): the call
        gets the same trace id and a new span id. Empty: the trace of the handler running on
        this thread, if any (@ref current_trace), else a new trace. Once the call is made,
        the proxy's copy holds the call's own context (docs/operations.md, "Tracing").
    */
    trace_context trace{};
    /** Where the caller keeps the metrics series of this call's method, for the next call
        of the same method to skip finding it by name (see metrics::series_slot). A typed
        stub sets it (one slot per stub method); null: the proxy finds the series per call.
        Read when the call is made; it must only ever be used for one method path.
    */
    metrics::series_slot* series = nullptr;
};

} // namespace mailroom
