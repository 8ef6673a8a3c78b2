#pragma once

#include <mailroom/filters/filter.hpp>
#include <mailroom/logger.hpp>

#include <chrono>

namespace mailroom::filters {

/// Options of @ref rpc_log.
struct rpc_log_options {
    /// Where the lines go (a logger is a value: give it your sink).
    logger log{.min_level = log_level::info};
    /// Level of the line of each call. Default: info.
    log_level level = log_level::info;
    /// Calls slower than this are logged at warning level, whatever `level`; 0 disables.
    /// Default: 500 ms.
    std::chrono::milliseconds slow{500};
};

/** pomelo's rpcLog, on either end: one line per call with caller, callee, method, outcome
    and duration, e.g.

    `rpc connector-1 -> chat-2 user.chatRemote.add: ok in 0.213 ms
    trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7` (one line)

    The trace and span ids are the call's (docs/operations.md, "Tracing"): the caller's line
    and the callee's line of one call carry the same two, and every call of one chain the
    same trace id.

    The duration is measured per call by the filter chain (from `before` to completion on a
    client, from receipt to answer on a server), so it is right under any concurrency —
    pomelo's version kept the start time in options shared by all calls.

    Add the same instance to a client chain, a server chain, or both.

    @par Thread safety
    Safe to share between chains and threads if the logger's sink is.

    @par Example
    @code
    auto log = std::make_shared<mailroom::filters::rpc_log>(
        mailroom::filters::rpc_log_options{.log = my_logger, .slow = 100ms});
    app.client_filters().add(log);
    app.server_filters().add(log);
    @endcode
*/
class rpc_log final : public client_filter, public server_filter {
public:
    explicit rpc_log(rpc_log_options options = {}) : options_(std::move(options)) {}

    void before(filter_call&, filter_next next) override { next(); }
    void after(const filter_call& call, std::error_code ec,
               std::chrono::nanoseconds elapsed) override;
    std::string_view name() const noexcept override { return "rpc_log"; }

private:
    rpc_log_options options_;
};

} // namespace mailroom::filters
