#include "sim_common.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <unistd.h>

namespace mailroom::cluster_sim {

bool on_path(const std::string& program)
{
    const char* path = std::getenv("PATH");
    if (!path)
        return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::error_code ec;
        const auto p = std::filesystem::path(dir.empty() ? "." : dir) / program;
        if (std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0)
            return true;
    }
    return false;
}

redis_reading read_redis(const test::redis_server& redis)
{
    redis_reading r;
    r.at = std::chrono::steady_clock::now();
    r.cpu_s = process_cpu_seconds(redis.pid());
    std::istringstream in(redis.command({"INFO", "all"}));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        const auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos)
            continue;
        r.info[line.substr(0, colon)] = line.substr(colon + 1);
    }
    return r;
}

const redis::registry_layout::keys& sim_keys()
{
    static const auto k = redis::registry_layout::keys_of("sim");
    return k;
}

list_cost probe_list(const test::redis_server& redis, int calls)
{
    const auto sha = redis.command({"SCRIPT", "LOAD", std::string(redis::registry_layout::list_script())});
    const std::vector<std::string> args{"EVALSHA", sha, "3", sim_keys().members,
                                        sim_keys().entries, sim_keys().events};
    list_cost c;
    redis.command({"CONFIG", "RESETSTAT"});
    for (int i = 0; i < calls; ++i)
        c.reply_bytes = static_cast<double>(redis.command(args).size());
    redis_reading r;
    std::istringstream in(redis.command({"INFO", "commandstats"}));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (const auto colon = line.find(':'); colon != std::string::npos)
            r.info[line.substr(0, colon)] = line.substr(colon + 1);
    }
    const double n = r.command_field("evalsha", "calls");
    if (n > 0)
        c.usec_per_call = r.command_field("evalsha", "usec") / n;
    return c;
}

server_info make_info(std::size_t i)
{
    static const char* const types[] = {"connector", "area", "chat", "gate"};
    server_info s{.id = fmt::format("sim-{:05}", i),
                  .server_type = types[i % 4],
                  .host = "127.0.0.1",
                  .port = static_cast<std::uint16_t>(10000 + i % 50000),
                  .transport = "tcp"};
    if (i % 4 == 0) {
        s.options["frontend"] = "true";
        s.options["clientPort"] = std::to_string(30000 + i % 30000);
    }
    return s;
}

} // namespace mailroom::cluster_sim
