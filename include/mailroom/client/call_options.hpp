#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace mailroom {

namespace detail {
class server_slot;
} // namespace detail

/** Cancels the calls it is attached to (through @ref call_options::cancel): each one still
    pending completes once, with `std::errc::operation_canceled` (what Asio's
    `operation_aborted` compares equal to). A call attached after `cancel()` completes so at
    once; a call already completed is left alone.

    @par Thread safety
    `cancel` may be called from any thread, concurrently with the calls.

    @par Example
    @code
    auto stop = std::make_shared<mailroom::cancellation>();
    rpc.async_call<int>(path, key, args, {.cancel = stop}, handler);
    stop->cancel(); // handler gets operation_canceled unless the result came first
    @endcode
*/
class cancellation {
public:
    void cancel();
    bool cancelled() const;

private:
    friend class detail::server_slot;
    /// Returns false if already cancelled (the caller completes the call itself).
    bool attach(std::weak_ptr<detail::server_slot> slot, std::uint64_t id);

    mutable std::mutex mu_;
    bool cancelled_ = false;
    std::vector<std::pair<std::weak_ptr<detail::server_slot>, std::uint64_t>> calls_;
};

/// Per-call settings.
struct call_options {
    /// How long to wait for the response; zero means the station's `request_timeout`. The
    /// callee receives the time that remains when the call leaves (its deadline).
    std::chrono::milliseconds timeout{0};
    /// Cancels the call on demand; null: not cancellable.
    std::shared_ptr<cancellation> cancel{};
};

} // namespace mailroom
