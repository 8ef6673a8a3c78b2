#include "redis_probe.hpp"

#include <cstdio>
#include <sstream>
#include <string_view>

#include <unistd.h>

namespace mailroom::cluster_sim {

double redis_reading::number(const std::string& key) const
{
    auto it = info.find(key);
    if (it == info.end())
        return 0;
    try {
        return std::stod(it->second);
    } catch (const std::exception&) {
        return 0;
    }
}

double redis_reading::command_field(const std::string& command, const std::string& field) const
{
    // cmdstat_eval:calls=12,usec=345,usec_per_call=28.75,rejected_calls=0,failed_calls=0
    auto it = info.find("cmdstat_" + command);
    if (it == info.end())
        return 0;
    std::string_view rest = it->second;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        const auto eq = item.find('=');
        if (eq != std::string_view::npos && item.substr(0, eq) == field) {
            try {
                return std::stod(std::string(item.substr(eq + 1)));
            } catch (const std::exception&) {
                return 0;
            }
        }
        rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    }
    return 0;
}

double process_cpu_seconds(int pid)
{
    std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f)
        return -1;
    char buf[1024];
    const auto n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    std::string_view s(buf, n);
    const auto close = s.rfind(')');
    if (close == std::string_view::npos)
        return -1;
    std::istringstream in(std::string(s.substr(close + 1)));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields 3..13 come first; utime is field 14, stime 15.
    for (int k = 3; k <= 15 && in >> field; ++k) {
        if (k == 14)
            utime = std::stoull(field);
        if (k == 15)
            stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

redis_rates rates_between(const redis_reading& a, const redis_reading& b)
{
    redis_rates r;
    r.seconds = std::chrono::duration<double>(b.at - a.at).count();
    if (r.seconds <= 0)
        return r;
    auto rate = [&](const std::string& key) { return (b.number(key) - a.number(key)) / r.seconds; };
    auto cmd_rate = [&](const std::string& c) {
        return (b.command_field(c, "calls") - a.command_field(c, "calls")) / r.seconds;
    };
    r.commands_per_s = rate("total_commands_processed");
    r.input_bytes_per_s = rate("total_net_input_bytes");
    r.output_bytes_per_s = rate("total_net_output_bytes");
    r.cpu_fraction = (b.cpu_s - a.cpu_s) / r.seconds;
    r.eval_per_s = cmd_rate("eval");
    const double evals = b.command_field("eval", "calls") - a.command_field("eval", "calls");
    if (evals > 0)
        r.eval_usec_per_call =
            (b.command_field("eval", "usec") - a.command_field("eval", "usec")) / evals;
    r.publish_per_s = cmd_rate("publish");
    r.hget_per_s = cmd_rate("hget");
    return r;
}

} // namespace mailroom::cluster_sim
