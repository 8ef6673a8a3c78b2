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

// A copy: keep it alike the registry's. The probes load it and run it with EVALSHA, so that
// their calls are counted apart from the members' EVALs.
const std::string_view list_script_copy = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('PUBLISH', KEYS[3], 'expired ' .. id)
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(live) do
  local e = redis.call('HGET', KEYS[2], id)
  if e then out[#out + 1] = e end
end
return out
)lua";

list_cost probe_list(const test::redis_server& redis, int calls)
{
    const auto sha = redis.command({"SCRIPT", "LOAD", std::string(list_script_copy)});
    const std::vector<std::string> args{"EVALSHA", sha, "3", std::string(members_key),
                                        std::string(entries_key), std::string(events_key)};
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
