// mailroom list: every server, whether it answers, and what it serves.

#include "cluster_client.hpp"
#include "commands.hpp"
#include "error_name.hpp"
#include "exit_code.hpp"

#include <mailroom/app/sys.hpp>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <tuple>

namespace mailroom::cli {
namespace {

struct server_report {
    const server_info* info = nullptr;
    std::error_code ping_error;
    health_status health;
    std::chrono::microseconds rtt{0};
    std::error_code methods_error;
    std::vector<method_description> methods;
};

} // namespace

int run_list(const std::vector<std::string>& args)
{
    auto cl = parse_command_line(args, {"env", "cluster", "timeout"}, {"json", "verbose"});
    auto target = target_options::from(cl);
    if (!cl.positional.empty())
        throw usage_error("list: unexpected argument \"" + cl.positional.front() + "\"");
    cluster_client c(target);

    // Every server at once: one slow server costs one timeout, not one per server.
    std::vector<server_report> reports(c.servers().size());
    std::vector<std::future<void>> pending;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        auto& r = reports[i];
        r.info = &c.servers()[i];
        pending.push_back(std::async(std::launch::async, [&c, &r] {
            const auto t0 = std::chrono::steady_clock::now();
            std::tie(r.ping_error, r.health) = c.call_to<health_status>(
                r.info->id, {"sys", r.info->server_type, "health", "ping"}, std::tuple<>{});
            r.rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0);
            if (r.ping_error)
                return;
            std::tie(r.methods_error, r.methods) = c.call_to<std::vector<method_description>>(
                r.info->id, {"sys", r.info->server_type, "introspect", "methods"},
                std::tuple<>{});
        }));
    }
    for (auto& p : pending)
        p.get();

    bool all_up = true;
    if (cl.has("json")) {
        auto out = nlohmann::json::array();
        for (const auto& r : reports) {
            nlohmann::json s = {{"id", r.info->id},
                                {"serverType", r.info->server_type},
                                {"host", r.info->host},
                                {"port", r.info->port},
                                {"transport", r.info->transport},
                                {"state", r.ping_error ? "down" : "up"}};
            if (r.ping_error) {
                all_up = false;
                s["error"] = error_name(r.ping_error);
            } else {
                s["uptime_ms"] = r.health.uptime_ms;
                s["rtt_us"] = r.rtt.count();
                auto ms = nlohmann::json::array();
                for (const auto& m : r.methods)
                    ms.push_back({{"ns", m.ns},
                                  {"service", m.service},
                                  {"method", m.method},
                                  {"signature", m.signature}});
                s["methods"] = std::move(ms);
            }
            out.push_back(std::move(s));
        }
        std::printf("%s\n", out.dump(2).c_str());
        return all_up ? exit_code::ok : exit_code::not_found;
    }

    for (const auto& r : reports) {
        const auto where = r.info->transport == "redis"
                               ? std::string("redis")
                               : fmt::format("{}:{} {}", r.info->host, r.info->port,
                                             r.info->transport);
        if (r.ping_error) {
            all_up = false;
            std::printf("%s (%s) %s  DOWN: %s (%s)\n", r.info->id.c_str(),
                        r.info->server_type.c_str(), where.c_str(),
                        error_name(r.ping_error).c_str(), r.ping_error.message().c_str());
            continue;
        }
        std::printf("%s (%s) %s  up %s, answered in %.1f ms\n", r.info->id.c_str(),
                    r.info->server_type.c_str(), where.c_str(),
                    fmt::format("{:.1f}s", static_cast<double>(r.health.uptime_ms) / 1000).c_str(),
                    static_cast<double>(r.rtt.count()) / 1000);
        if (r.methods_error) {
            std::printf("    methods: %s (%s)\n", error_name(r.methods_error).c_str(),
                        r.methods_error.message().c_str());
            continue;
        }
        for (const auto& m : r.methods) {
            // The sys remotes are on every server: shown with --json only.
            if (m.ns == "sys")
                continue;
            const auto name = (m.ns == "user" ? "" : m.ns + ".") + r.info->server_type + "." +
                              m.service + "." + m.method;
            std::printf("    %-40s %s\n", name.c_str(),
                        m.signature.empty() ? "(no declared signature)" : m.signature.c_str());
        }
    }
    return all_up ? exit_code::ok : exit_code::not_found;
}

} // namespace mailroom::cli
