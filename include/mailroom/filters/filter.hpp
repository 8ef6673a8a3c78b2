#pragma once

#include <mailroom/client/route_param.hpp>
#include <mailroom/detail/unique_function.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/trace_context.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace mailroom {

/** One call as filters see it, on either end. Everything in it is owned by the call and
    lives as long as the call: a filter may keep a reference until its `after` ran.

    On the client, `param` is the route parameter the call was routed on, reduced to an owned
    copy of its key and number (an object given with `route_param::of` is not kept: it is only
    valid while routing). It is the same in `before` and `after`, and for every attempt.
*/
struct filter_call {
    std::string ns, server_type, service, method;
    /// The caller's server id.
    std::string source{};
    /// The callee's server id. A client filter's `before` may change it (failover, pinning).
    std::string target{};
    /// 0 for a notify.
    std::uint64_t request_id = 0;
    /// The call's trace: its trace id and span id, the same on both ends (a call from an
    /// older peer, or over a protocol without traces: a trace the server started).
    trace_context trace{};
    /// When the call was made (client) or received (server).
    std::chrono::steady_clock::time_point start{};
    /// When the caller stops waiting; `time_point::max()` if unknown.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Client side: the route parameter's key and number, for the whole call. Server side:
    /// empty.
    owned_route_param param;
    /// Client side: 1 for the first attempt. A failure policy that sends the call again runs
    /// the client filters again for each attempt (`before`, then `after` with the attempt's
    /// outcome), with `target` the attempt's server and `attempt` counting up.
    unsigned attempt = 1;

    protocol::method_path path() const noexcept { return {ns, server_type, service, method}; }
};

/** The continuation of a filter's `before`: call it once — with no error to let the call go
    on, or with an error to reject it (the call then completes with that error). It may be
    called later and from any thread. A `filter_next` destroyed without being called rejects
    the call with `error::cancelled` (equal to `std::errc::operation_canceled`), so a filter
    can never lose a call.
*/
class filter_next {
public:
    explicit filter_next(detail::unique_function<void(std::error_code)> f) : f_(std::move(f)) {}
    filter_next(filter_next&&) noexcept = default;
    filter_next& operator=(filter_next&& other) noexcept
    {
        if (this != &other) {
            drop();
            f_ = std::move(other.f_);
        }
        return *this;
    }
    ~filter_next() { drop(); }

    void operator()(std::error_code ec = {})
    {
        if (auto f = std::move(f_))
            f(ec);
    }

private:
    void drop() noexcept
    {
        try {
            (*this)(error::cancelled);
        } catch (...) {
        }
    }

    detail::unique_function<void(std::error_code)> f_;
};

/** A filter around every call a client makes (after routing, before the mail box).

    `before` runs in chain order; `after` runs in reverse order, only for the filters whose
    `before` let the call go on, once the call completed, with its outcome and duration.
    Both run on the caller's or an I/O thread and must not block.

    @par Example
    @code
    struct deny_chat : mailroom::client_filter {
        void before(mailroom::filter_call& c, mailroom::filter_next next) override
        { next(c.server_type == "chat" ? mailroom::error::server_busy : std::error_code{}); }
    };
    @endcode
*/
class client_filter {
public:
    virtual ~client_filter() = default;
    virtual void before(filter_call&, filter_next next) { next(); }
    virtual void after(const filter_call&, std::error_code, std::chrono::nanoseconds) {}
    /// The chain's owner is stopping: end background work (timers), so the I/O threads can
    /// finish. Idempotent; may be called from any thread.
    virtual void close() {}
    /// The filter's name in metrics (`mailroom_filter_refusals_total{filter=...}`).
    virtual std::string_view name() const noexcept { return "filter"; }
};

/** A filter around every call a server receives (before dispatch). A rejection is the
    caller's answer: the handler does not run. `after` sees the answer sent and the time from
    receipt to answer.
*/
class server_filter {
public:
    virtual ~server_filter() = default;
    virtual void before(filter_call&, filter_next next) { next(); }
    virtual void after(const filter_call&, std::error_code, std::chrono::nanoseconds) {}
    /// The chain's owner is stopping: end background work (timers), so the I/O threads can
    /// finish. Idempotent; may be called from any thread.
    virtual void close() {}
    /// The filter's name in metrics (`mailroom_filter_refusals_total{filter=...}`).
    virtual std::string_view name() const noexcept { return "filter"; }
};

} // namespace mailroom
