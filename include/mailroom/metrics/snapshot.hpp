#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mailroom::metrics {

/** One method as one end of the call path counts it: `side` "client" (calls this App made)
    or "server" (calls it served). Counts are cumulative since the App started: a rate is the
    difference of two snapshots over the difference of their `time_ms`.
*/
struct method_snapshot {
    /// "client" or "server".
    std::string side{};
    std::string ns{};
    std::string server_type{};
    std::string service{};
    std::string method{};
    /// Calls completed (successes and errors).
    std::uint64_t calls = 0;
    /// Calls completed with an error (the sum of `errors_by_code`).
    std::uint64_t errors = 0;
    /// Calls started and not completed yet.
    std::uint64_t in_flight = 0;
    /// Errors by code name ("timeout", "server_busy", ... as error.hpp names them; "other"
    /// for codes of other categories).
    std::map<std::string, std::uint64_t> errors_by_code{};
    /// Calls completed per latency bucket (not cumulative); bucket i holds latencies up to
    /// `metrics_snapshot::bucket_bounds_us[i]`, the last one everything above the last bound.
    std::vector<std::uint64_t> buckets{};
    /// Sum of the latencies, in microseconds.
    std::uint64_t latency_sum_us = 0;
    /// Quantiles estimated from `buckets` (linear inside a bucket), in milliseconds; 0 when
    /// no call completed.
    double p50_ms = 0, p99_ms = 0, p999_ms = 0;
    MSGPACK_DEFINE_MAP(side, ns, server_type, service, method, calls, errors, in_flight,
                       errors_by_code, buckets, latency_sum_us, p50_ms, p99_ms, p999_ms)
};

/** A server of the cluster as this App sees it: its mail box (the link this App's calls to it
    take) and the calls this App made to it.
*/
struct peer_snapshot {
    std::string server_id{};
    std::string server_type{};
    /// The mail box's state: "none" (never called), "idle", "connecting", "retry_wait",
    /// "handshaking", "open", "draining", "closed" or "held"; "down" while the server is
    /// marked down (its last connect cycle failed).
    std::string state{};
    /// Calls waiting for a response or for the link, plus queued notifies.
    std::uint64_t queue_depth = 0;
    /// Bytes queued: held while connecting, and unsent in the mail box.
    std::uint64_t queued_bytes = 0;
    /// Links opened after the first one (each one a reconnect).
    std::uint64_t reconnects = 0;
    /// Calls completed to this server, errors among them, latency quantiles (milliseconds).
    std::uint64_t calls = 0;
    std::uint64_t errors = 0;
    double p50_ms = 0, p99_ms = 0;
    MSGPACK_DEFINE_MAP(server_id, server_type, state, queue_depth, queued_bytes, reconnects,
                       calls, errors, p50_ms, p99_ms)
};

/// Calls a filter refused (its `before` completed with an error), by filter and code.
struct refusal_snapshot {
    /// "client" or "server".
    std::string side{};
    /// The filter's `name()` ("too_busy", "rpc_log", ... or "filter" for one without a name).
    std::string filter{};
    std::string code{};
    std::uint64_t count = 0;
    MSGPACK_DEFINE_MAP(side, filter, code, count)
};

/// One failed call, as the recent-error ring keeps it.
struct error_event {
    /// Wall-clock time, milliseconds since the Unix epoch.
    std::uint64_t time_ms = 0;
    /// "client" or "server".
    std::string side{};
    std::string code{};
    /// The server the call went to (client side) or came from (server side; empty if unknown).
    std::string peer{};
    std::string server_type{};
    std::string service{};
    std::string method{};
    MSGPACK_DEFINE_MAP(time_ms, side, code, peer, server_type, service, method)
};

/** One slow call this App served, as the slow-call ring keeps it (at least
    registry_options::slow_call from its arrival to its answer).
*/
struct slow_call_event {
    /// When it was answered: wall-clock time, milliseconds since the Unix epoch.
    std::uint64_t time_ms = 0;
    /// How long it took, in milliseconds: measured precisely if the call was one of the
    /// timed sample, else with the coarse clock (to about one clock tick, 1-4 ms on Linux).
    double ms = 0;
    /// "ok", or the error's name as @ref error_event has it.
    std::string code{};
    /// The server the call came from (empty if unknown).
    std::string peer{};
    std::string server_type{};
    std::string service{};
    std::string method{};
    /// The call's trace and span (32 and 16 hex digits; see trace_context).
    std::string trace_id{};
    std::string span_id{};
    MSGPACK_DEFINE_MAP(time_ms, ms, code, peer, server_type, service, method, trace_id, span_id)
};

/** Everything the metrics of one App hold, as `sys.metrics.snapshot()` answers it (and the
    admin endpoint's `/status.json` shows it).
*/
struct metrics_snapshot {
    std::string server_id{};
    std::string server_type{};
    std::uint64_t uptime_ms = 0;
    /// When the snapshot was taken: wall clock, milliseconds since the Unix epoch.
    std::uint64_t time_ms = 0;
    /// False if the App runs without metrics (app_options::metrics): every list is empty.
    bool enabled = true;
    /// Upper bounds of the latency buckets, in microseconds (the last bucket is unbounded).
    std::vector<std::uint64_t> bucket_bounds_us{};
    /// Connections open to this App's server, and calls it is serving now.
    std::uint64_t connections = 0;
    std::uint64_t in_flight = 0;
    /// The server's refusals and failures by reason: "busy", "deadline_exceeded",
    /// "shutting_down", "protocol_errors", "remote_errors", "write_overflows",
    /// "auth_refused" (server::stats).
    std::map<std::string, std::uint64_t> server_counters{};
    std::vector<method_snapshot> methods{};
    std::vector<peer_snapshot> peers{};
    std::vector<refusal_snapshot> refusals{};
    /// The most recent failed calls, oldest first (at most app_options::metrics_recent_errors).
    std::vector<error_event> recent_errors{};
    /// The most recent slow calls served, oldest first (at most registry_options::recent_slow_calls).
    std::vector<slow_call_event> recent_slow_calls{};
    /// What counts as slow (registry_options::slow_call), in milliseconds; 0: not watched.
    std::uint64_t slow_call_ms = 0;
    MSGPACK_DEFINE_MAP(server_id, server_type, uptime_ms, time_ms, enabled, bucket_bounds_us,
                       connections, in_flight, server_counters, methods, peers, refusals,
                       recent_errors, recent_slow_calls, slow_call_ms)
};

} // namespace mailroom::metrics
