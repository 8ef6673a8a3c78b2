#pragma once

#include "server_handshake.hpp"
#include "server_state.hpp"

#include <mailroom/detail/same_name.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server/responder.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace mailroom::detail {

/** The core's side of one accepted connection: handshake, then requests to the dispatcher
    (through the server filters, if any).

    States: handshake (server_handshake: hello, and for an authenticating one a challenge
    and a proof) -> ready (ready at once for a protocol without a handshake). Anything but
    a hello first, an unsupported version, a refused authentication, or a malformed frame
    closes this connection only. Messages are decoded and answers encoded by the listener's protocol. Calls beyond `max_in_flight_per_connection`
    are answered `server_busy` at once; during a drain every call is answered `shutting_down`.
*/
class session final : public connection_handler,
                      public response_observer,
                      public std::enable_shared_from_this<session> {
public:
    session(std::shared_ptr<server_state> state, std::shared_ptr<connection> conn,
            std::shared_ptr<const wire_protocol> protocol);

    void on_message(std::span<const char> body) override;
    void on_close(std::error_code ec) override;
    void answered(std::uint64_t id, std::error_code ec) noexcept override;
    std::string_view peer() const noexcept override { return peer_id_; }
    handshake_limits limits_before_handshake() const override;

    /// Closes the connection (server stop).
    void close() { conn_->close(); }

    server_state& state() noexcept { return *state_; }

    /// Why a call may not run now (draining, too many in flight), or nothing.
    std::error_code admit(const protocol::request_view& req);

    /// The responder of call `id` (none for a notify), counted in flight until answered.
    responder make_responder(std::uint64_t id, std::shared_ptr<response_observer> observer);
    const std::shared_ptr<connection>& conn() const noexcept { return conn_; }
    const std::string& peer_id() const noexcept { return peer_id_; }
    /// Looks `path` up in the dispatcher through this connection's cache.
    dispatcher::found_method lookup(const protocol::method_path& path);
    /** Starts counting a call to `m` (from @ref lookup) in the server's metrics (if it
        keeps them): `r` counts its answer, and keeps it with `trace` if it is slow since
        `began` (deadline_clock); a notify (no `r` owed) counts as answered at once.
    */
    [[gnu::always_inline]] metrics::call_stats*
    meter(const protocol::request_view& req, const dispatcher::found_method& m, responder& r,
          std::chrono::steady_clock::time_point& start,
          std::chrono::steady_clock::time_point began, const trace_context& trace)
    {
        auto* reg = state_->options.metrics.get();
        if (!reg)
            return nullptr;
        // The series kept beside the method's cache entry: the names compared once, there.
        // Another server type calling the same method gets a series of its own.
        auto* stats = m.series ? *m.series : nullptr;
        if (!stats || !detail::same_name(stats->server_type(), req.path.server_type)) [[unlikely]]
            stats = series_of(req, m, *reg);
        // The precise clock, not the coarse one deadlines use (latencies are often below its
        // tick), for a sample of the calls (see registry_options::timed_calls_per_window).
        start = stats->started(began) ? std::chrono::steady_clock::now()
                                      : std::chrono::steady_clock::time_point{};
        if (r.owed())
            r.meter(stats, start, began, trace);
        return stats;
    }
    const wire_protocol& protocol() const noexcept { return *protocol_; }

private:
    /// Closes this connection: the peer broke the protocol (`ec` says how; `why` is logged).
    void reject(std::error_code ec, std::string_view why);
    /// Logs a warning (`line_format` takes the peer's address and `why`), unless the peer's
    /// address had its share of warnings from `limiter` in the current interval.
    void warn(std::string_view line_format, std::string_view why);
    void warn(log_limiter& limiter, std::string_view line_format, std::string_view why);
    /// The handshake, until it accepts (server_handshake.hpp).
    void handle_handshake(const protocol::message& msg);
    /// A request or notify whose arguments exceed max_decode_ratio: refused alone.
    void refuse_oversized(const protocol::request_view& req);
    void handle_call(std::span<const char> body, const protocol::request_view& req);
    /// The series of a call to `m` in `reg`, found by name and kept in `m`'s cache entry.
    metrics::call_stats* series_of(const protocol::request_view& req,
                                   const dispatcher::found_method& m, metrics::registry& reg);

    std::shared_ptr<server_state> state_;
    std::shared_ptr<connection> conn_;
    const std::shared_ptr<const wire_protocol> protocol_;
    std::string peer_id_;
    std::unique_ptr<server_handshake> handshake_; // until the handshake ends
    dispatcher::lookup_cache lookups_; // used on the connection's executor only
    std::atomic<std::size_t> in_flight_{0};
    bool ready_ = false;
    bool closed_ = false;
};

/// Runs a call through the server filters, then the dispatcher (server_filters.cpp).
void dispatch_filtered(const std::shared_ptr<session>& s,
                       std::shared_ptr<const server_filters::table> filters,
                       std::span<const char> body, const protocol::request_view& req);

/// Builds the call context of `req` as received by `s`.
call_context make_context(session& s, const protocol::request_view& req,
                          std::chrono::steady_clock::time_point now);

} // namespace mailroom::detail
