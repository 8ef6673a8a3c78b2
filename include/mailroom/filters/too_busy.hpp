#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/filters/filter.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailroom::filters {

/** Measures how late an executor runs a periodic timer — its event-loop lag — smoothed as
    node-toobusy does (each sample weighs 1/3). A loop that runs handlers promptly shows ~0.

    @par Thread safety
    `lag` may be read from any thread.
*/
class lag_monitor {
public:
    lag_monitor(asio::any_io_executor ex, std::chrono::milliseconds interval);
    ~lag_monitor();
    lag_monitor(const lag_monitor&) = delete;
    lag_monitor& operator=(const lag_monitor&) = delete;

    /// The smoothed lag.
    std::chrono::microseconds lag() const noexcept;

    /// Stops sampling (the lag keeps its last value). Idempotent.
    void stop();

private:
    struct state;
    std::shared_ptr<state> state_;
};

/// Options of the too_busy filters.
struct too_busy_options {
    /// Reject while the smoothed event-loop lag is above this. Default: 70 ms (pomelo's).
    std::chrono::milliseconds max_lag{70};
    /// Server: reject while more calls than this are in flight in the server. Client: reject
    /// a call to a server that already has this many calls in flight from here.
    /// Default: 1,000.
    std::size_t max_in_flight = 1'000;
    /// How often the lag is sampled. Default: 100 ms.
    std::chrono::milliseconds check_interval{100};
};

/** Load shedding on the server: calls are answered `server_busy` before dispatch — at once,
    so a caller never learns of it by timing out — while this server's event loop lags or it
    has too many calls in flight. Unlike pomelo's toobusy, it measures the callee.

    @par Example
    @code
    app.server_filters().add(std::make_shared<mailroom::filters::server_too_busy>(
        app.get_executor(), [&app] { return app.rpc_server().in_flight(); },
        mailroom::filters::too_busy_options{.max_in_flight = 500}));
    @endcode
*/
class server_too_busy final : public server_filter {
public:
    server_too_busy(asio::any_io_executor ex, std::function<std::size_t()> in_flight,
                    too_busy_options options = {});

    void before(filter_call& call, filter_next next) override;
    void close() override { monitor_.stop(); }
    std::string_view name() const noexcept override { return "too_busy"; }

    std::chrono::microseconds lag() const noexcept { return monitor_.lag(); }

private:
    too_busy_options options_;
    std::function<std::size_t()> in_flight_;
    lag_monitor monitor_;
};

/** Load shedding on the client: a call fails at once with `server_busy` while this
    process's own event loop lags, or when its target already has `max_in_flight` calls from
    here in flight (so a slow server is not buried under more).

    A call is counted for the server that is its target when this filter's `before` runs,
    and released for that same server when its `after` runs, even if a later filter changed
    the target in between; a call sent again by a failure policy is counted once per attempt.
*/
class client_too_busy final : public client_filter {
public:
    client_too_busy(asio::any_io_executor ex, too_busy_options options = {});

    void before(filter_call& call, filter_next next) override;
    void after(const filter_call& call, std::error_code ec,
               std::chrono::nanoseconds elapsed) override;
    void close() override { monitor_.stop(); }
    std::string_view name() const noexcept override { return "too_busy"; }

    std::chrono::microseconds lag() const noexcept { return monitor_.lag(); }

    /// Calls in flight from here to `server_id`.
    std::size_t in_flight(std::string_view server_id) const;

private:
    too_busy_options options_;
    lag_monitor monitor_;
    mutable std::mutex mu_;
    detail::string_map<std::size_t> in_flight_;
    // The server each call in flight was counted for, by the call's filter_call (the
    // pipeline keeps one per call, alive from `before` to `after`). A multimap: the same
    // filter may sit twice in a chain.
    std::unordered_multimap<const filter_call*, std::string> counted_;
};

} // namespace mailroom::filters
