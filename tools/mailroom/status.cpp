// mailroom status: each server's metrics (sys.metrics.snapshot) as tables, with rates from
// two snapshots --interval apart.

#include "cluster_client.hpp"
#include "commands.hpp"
#include "convert.hpp"
#include "error_name.hpp"
#include "exit_code.hpp"

#include <mailroom/app/sys.hpp>
#include <mailroom/client/reply.hpp>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <tuple>

namespace mailroom::cli {
namespace {

using json = nlohmann::json;

struct server_state {
    const server_info* info = nullptr;
    std::error_code ping_error;
    health_status health;
    std::error_code metrics_error;
    json first, second; // two snapshots, `interval` apart
};

/// `sys.metrics.snapshot()` read without its C++ type, so that a server of any version
/// answers what it has (an older one: unknown_service).
std::pair<std::error_code, json> snapshot(cluster_client& c, const server_info& s)
{
    auto [ec, r] = c.call_to<reply>(s.id, {"sys", s.server_type, "metrics", "snapshot"},
                                    std::tuple<>{});
    if (ec)
        return {ec, {}};
    return {ec, r.json() ? *r.json() : to_json(r.get())};
}

std::uint64_t u(const json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

double d(const json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

std::string s(const json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string method_key(const json& m)
{
    return s(m, "side") + " " + s(m, "ns") + "." + s(m, "server_type") + "." + s(m, "service") +
           "." + s(m, "method");
}

void print_server(const server_state& st, double seconds)
{
    const auto& info = *st.info;
    if (st.ping_error) {
        std::printf("%s (%s)  DOWN: %s (%s)\n\n", info.id.c_str(), info.server_type.c_str(),
                    error_name(st.ping_error).c_str(), st.ping_error.message().c_str());
        return;
    }
    if (st.metrics_error) {
        std::printf("%s (%s)  up %.1fs; no metrics: %s (%s)\n\n", info.id.c_str(),
                    info.server_type.c_str(), static_cast<double>(st.health.uptime_ms) / 1000,
                    error_name(st.metrics_error).c_str(), st.metrics_error.message().c_str());
        return;
    }
    const auto& now = st.second;
    std::printf("%s (%s)  up %.1fs, %llu connections, %llu calls in flight%s\n", info.id.c_str(),
                info.server_type.c_str(), static_cast<double>(u(now, "uptime_ms")) / 1000,
                static_cast<unsigned long long>(u(now, "connections")),
                static_cast<unsigned long long>(u(now, "in_flight")),
                now.value("enabled", true) ? "" : " (metrics off)");
    std::map<std::string, std::uint64_t> before;
    for (const auto& m : st.first.value("methods", json::array()))
        before[method_key(m)] = u(m, "calls");
    if (!now.value("methods", json::array()).empty()) {
        std::printf("  %-6s %-38s %9s %9s %7s %8s %9s %9s %9s\n", "side", "method", "calls",
                    "calls/s", "errors", "inflight", "p50 ms", "p99 ms", "p999 ms");
        for (const auto& m : now["methods"]) {
            const auto calls = u(m, "calls");
            const auto prev = before.count(method_key(m)) ? before[method_key(m)] : 0;
            const double rate = seconds > 0 ? static_cast<double>(calls - std::min(calls, prev)) / seconds : 0;
            const auto name = s(m, "ns") + "." + s(m, "server_type") + "." + s(m, "service") +
                              "." + s(m, "method");
            std::printf("  %-6s %-38s %9llu %9.1f %7llu %8llu %9.3f %9.3f %9.3f\n",
                        s(m, "side").c_str(), name.c_str(), static_cast<unsigned long long>(calls),
                        rate, static_cast<unsigned long long>(u(m, "errors")),
                        static_cast<unsigned long long>(u(m, "in_flight")), d(m, "p50_ms"),
                        d(m, "p99_ms"), d(m, "p999_ms"));
            const auto by_code = m.value("errors_by_code", json::object());
            for (const auto& [code, n] : by_code.items())
                std::printf("  %-6s   error %-30s %9llu\n", "", code.c_str(),
                            static_cast<unsigned long long>(n.is_number() ? n.get<std::uint64_t>() : 0));
        }
    }
    if (!now.value("peers", json::array()).empty()) {
        std::printf("  %-24s %-12s %-11s %6s %10s %10s %9s %7s %9s %9s\n", "peer", "type",
                    "mail box", "queue", "queued B", "reconnects", "calls", "errors", "p50 ms",
                    "p99 ms");
        for (const auto& p : now["peers"])
            std::printf("  %-24s %-12s %-11s %6llu %10llu %10llu %9llu %7llu %9.3f %9.3f\n",
                        s(p, "server_id").c_str(), s(p, "server_type").c_str(),
                        s(p, "state").c_str(), static_cast<unsigned long long>(u(p, "queue_depth")),
                        static_cast<unsigned long long>(u(p, "queued_bytes")),
                        static_cast<unsigned long long>(u(p, "reconnects")),
                        static_cast<unsigned long long>(u(p, "calls")),
                        static_cast<unsigned long long>(u(p, "errors")), d(p, "p50_ms"),
                        d(p, "p99_ms"));
    }
    for (const auto& r : now.value("refusals", json::array()))
        std::printf("  refused by %s filter %s: %s %llu\n", s(r, "side").c_str(),
                    s(r, "filter").c_str(), s(r, "code").c_str(),
                    static_cast<unsigned long long>(u(r, "count")));
    const auto counters = now.value("server_counters", json::object());
    for (const auto& [name, n] : counters.items())
        if (n.is_number() && n.get<std::uint64_t>() != 0)
            std::printf("  server %s: %llu\n", name.c_str(),
                        static_cast<unsigned long long>(n.get<std::uint64_t>()));
    std::printf("\n");
}

} // namespace

int run_status(const std::vector<std::string>& args)
{
    auto cl = parse_command_line(args, {"env", "cluster", "timeout", "interval"},
                                 {"json", "verbose"});
    auto target = target_options::from(cl);
    if (!cl.positional.empty())
        throw usage_error("status: unexpected argument \"" + cl.positional.front() + "\"");
    const auto interval = parse_duration("interval", cl.get("interval").value_or("1s"));
    cluster_client c(target);

    std::vector<server_state> states(c.servers().size());
    auto each = [&](auto&& fn) {
        std::vector<std::future<void>> pending;
        for (auto& st : states)
            pending.push_back(std::async(std::launch::async, [&st, &fn] { fn(st); }));
        for (auto& p : pending)
            p.get();
    };
    for (std::size_t i = 0; i < states.size(); ++i)
        states[i].info = &c.servers()[i];
    each([&](server_state& st) {
        std::tie(st.ping_error, st.health) = c.call_to<health_status>(
            st.info->id, {"sys", st.info->server_type, "health", "ping"}, std::tuple<>{});
        if (!st.ping_error)
            std::tie(st.metrics_error, st.first) = snapshot(c, *st.info);
    });
    const auto t0 = std::chrono::steady_clock::now();
    // Rates need a second look; the wait is the measuring interval, not synchronisation.
    std::this_thread::sleep_for(interval);
    each([&](server_state& st) {
        if (st.ping_error || st.metrics_error)
            return;
        std::tie(st.metrics_error, st.second) = snapshot(c, *st.info);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    bool all_up = true;
    if (cl.has("json")) {
        json out = json::array();
        for (const auto& st : states) {
            json e = {{"id", st.info->id}, {"serverType", st.info->server_type},
                      {"state", st.ping_error ? "down" : "up"}};
            if (st.ping_error)
                e["error"] = error_name(st.ping_error);
            else if (st.metrics_error)
                e["metrics_error"] = error_name(st.metrics_error);
            else
                e["metrics"] = st.second;
            all_up = all_up && !st.ping_error;
            out.push_back(std::move(e));
        }
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        for (const auto& st : states) {
            all_up = all_up && !st.ping_error;
            print_server(st, seconds);
        }
    }
    return all_up ? exit_code::ok : exit_code::not_found;
}

} // namespace mailroom::cli
