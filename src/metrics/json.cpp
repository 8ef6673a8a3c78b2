#include <mailroom/metrics/json.hpp>

#include <nlohmann/json.hpp>

namespace mailroom::metrics {

std::string to_json(const metrics_snapshot& s)
{
    using nlohmann::json;
    json methods = json::array();
    for (const auto& m : s.methods)
        methods.push_back({{"side", m.side},
                           {"ns", m.ns},
                           {"server_type", m.server_type},
                           {"service", m.service},
                           {"method", m.method},
                           {"calls", m.calls},
                           {"errors", m.errors},
                           {"in_flight", m.in_flight},
                           {"errors_by_code", m.errors_by_code},
                           {"buckets", m.buckets},
                           {"latency_sum_us", m.latency_sum_us},
                           {"p50_ms", m.p50_ms},
                           {"p99_ms", m.p99_ms},
                           {"p999_ms", m.p999_ms}});
    json peers = json::array();
    for (const auto& p : s.peers)
        peers.push_back({{"server_id", p.server_id},
                         {"server_type", p.server_type},
                         {"state", p.state},
                         {"queue_depth", p.queue_depth},
                         {"queued_bytes", p.queued_bytes},
                         {"reconnects", p.reconnects},
                         {"calls", p.calls},
                         {"errors", p.errors},
                         {"p50_ms", p.p50_ms},
                         {"p99_ms", p.p99_ms}});
    json refusals = json::array();
    for (const auto& r : s.refusals)
        refusals.push_back(
            {{"side", r.side}, {"filter", r.filter}, {"code", r.code}, {"count", r.count}});
    json errors = json::array();
    for (const auto& e : s.recent_errors)
        errors.push_back({{"time_ms", e.time_ms},
                          {"side", e.side},
                          {"code", e.code},
                          {"peer", e.peer},
                          {"server_type", e.server_type},
                          {"service", e.service},
                          {"method", e.method}});
    json slow = json::array();
    for (const auto& c : s.recent_slow_calls)
        slow.push_back({{"time_ms", c.time_ms},
                        {"ms", c.ms},
                        {"code", c.code},
                        {"peer", c.peer},
                        {"server_type", c.server_type},
                        {"service", c.service},
                        {"method", c.method},
                        {"trace_id", c.trace_id},
                        {"span_id", c.span_id}});
    json out = {{"server_id", s.server_id},
                {"server_type", s.server_type},
                {"uptime_ms", s.uptime_ms},
                {"time_ms", s.time_ms},
                {"enabled", s.enabled},
                {"bucket_bounds_us", s.bucket_bounds_us},
                {"connections", s.connections},
                {"in_flight", s.in_flight},
                {"server_counters", s.server_counters},
                {"methods", std::move(methods)},
                {"peers", std::move(peers)},
                {"refusals", std::move(refusals)},
                {"recent_errors", std::move(errors)},
                {"recent_slow_calls", std::move(slow)},
                {"slow_call_ms", s.slow_call_ms}};
    // Names come from peers and may not be UTF-8: replaced, never thrown on.
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace mailroom::metrics
