#include "table_probe.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim_common.hpp"
#include "sim_report.hpp"

namespace mailroom::cluster_sim {

namespace {

using sim_clock = std::chrono::steady_clock;

struct context_deleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

context_ptr connect(const test::redis_server& redis)
{
    timeval tv{10, 0};
    context_ptr c(redisConnectWithTimeout("127.0.0.1", redis.port(), tv));
    if (!c || c->err)
        throw std::runtime_error("cannot connect to the redis-server");
    return c;
}

void append(redisContext* c, const std::vector<std::string>& args)
{
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
        throw std::runtime_error("redisAppendCommandArgv failed");
}

/// Reads one reply; returns the bytes of its strings (an array's elements summed).
std::size_t take_reply(redisContext* c)
{
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || !raw)
        throw std::runtime_error("the redis-server did not answer");
    auto* r = static_cast<redisReply*>(raw);
    std::size_t bytes = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        const std::string e(r->str, r->len);
        freeReplyObject(r);
        throw std::runtime_error("redis: " + e);
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (std::size_t i = 0; i < r->elements; ++i)
            bytes += r->element[i]->len;
    freeReplyObject(r);
    return bytes;
}

} // namespace

int run_table_probe(const sim_options& o)
{
    if (!on_path("redis-server")) {
        fmt::print(stderr, "mailroom-cluster-sim: redis-server is not installed; skipped\n");
        return 77;
    }
    const std::size_t n = o.table;
    test::redis_server redis;
    auto c = connect(redis);

    // The table: leases far in the future, so that no list expires anybody.
    for (std::size_t i = 0; i < n; ++i) {
        auto s = make_info(i);
        s.epoch = i + 1;
        append(c.get(), {"ZADD", sim_keys().members, "9000000000000", s.id});
        append(c.get(), {"HSET", sim_keys().entries, s.id, redis::registry_layout::entry_json(s)});
    }
    for (std::size_t i = 0; i < 2 * n; ++i)
        take_reply(c.get());

    const auto one = probe_list(redis, 20);

    // The storm one change causes: every member reads the whole table once (more when
    // events arrive while its read is in flight). Capped at 1,000 reads; scaled to n.
    const std::size_t storm = std::min<std::size_t>(n, 1000);
    const auto sha = redis.command({"SCRIPT", "LOAD", std::string(redis::registry_layout::list_script())});
    const std::vector<std::string> list{"EVALSHA", sha, "3", sim_keys().members,
                                        sim_keys().entries, sim_keys().events};
    const auto a = read_redis(redis);
    const auto t0 = sim_clock::now();
    for (std::size_t i = 0; i < storm; ++i)
        append(c.get(), list);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < storm; ++i)
        bytes += take_reply(c.get());
    const double storm_ms = std::chrono::duration<double, std::milli>(sim_clock::now() - t0).count();
    const auto b = read_redis(redis);
    // What the same change would cost if each member read only the entry the event names
    // (one HGET each): the alternative docs/membership.md proposes, measured the same way.
    const auto d0 = read_redis(redis);
    const auto td = sim_clock::now();
    for (std::size_t i = 0; i < storm; ++i)
        append(c.get(), {"HGET", sim_keys().entries, make_info(0).id});
    for (std::size_t i = 0; i < storm; ++i)
        take_reply(c.get());
    const double delta_ms = std::chrono::duration<double, std::milli>(sim_clock::now() - td).count();
    const auto d1 = read_redis(redis);
    const double scale = static_cast<double>(n) / static_cast<double>(storm);
    const double storm_cpu_ms = (b.cpu_s - a.cpu_s) * 1000;
    const double storm_usec_per_list =
        (b.command_field("evalsha", "usec") - a.command_field("evalsha", "usec")) /
        std::max(1.0, b.command_field("evalsha", "calls") - a.command_field("evalsha", "calls"));
    const double dn = static_cast<double>(n);
    const double list_kib = one.reply_bytes / 1024;

    sim_report rep(fmt::format("mailroom-cluster-sim: Redis with a table of {} members", n));
    rep.add("table", dn);
    rep.add("entry_bytes_member0",
            std::stod(redis.command({"HSTRLEN", sim_keys().entries, make_info(0).id})));
    rep.add("list_usec_per_call", one.usec_per_call, 1);
    rep.add("list_reply_kib", list_kib, 1);
    rep.add("storm_lists", static_cast<double>(storm));
    rep.add("storm_ms", storm_ms, 1);
    rep.add("storm_redis_cpu_ms", storm_cpu_ms, 0);
    rep.add("storm_redis_usec_per_list", storm_usec_per_list, 1);
    rep.add("storm_redis_out_mib",
            (b.number("total_net_output_bytes") - a.number("total_net_output_bytes")) / (1 << 20), 1);
    rep.add("storm_reply_mib", static_cast<double>(bytes) / (1 << 20), 1);
    rep.add("delta_storm_ms", delta_ms, 1);
    rep.add("delta_change_redis_usec",
            (d1.command_field("hget", "usec") - d0.command_field("hget", "usec")) * scale, 0);
    rep.add("delta_change_redis_out_kib",
            (d1.number("total_net_output_bytes") - d0.number("total_net_output_bytes")) * scale / 1024, 1);
    // What a cluster of n members asks of this Redis.
    rep.add("change_redis_cpu_ms", storm_cpu_ms * scale, 0);
    rep.add("change_redis_out_mib", dn * list_kib / 1024, 1);
    for (double period : {1.0, 10.0}) {
        const auto tag = fmt::format("resync_{:.0f}s", period);
        rep.add("steady_redis_core_fraction_" + tag, storm_cpu_ms * scale / 1000 / period, 2);
        rep.add("steady_redis_out_mib_per_s_" + tag, dn * list_kib / 1024 / period, 1);
    }
    rep.print(o.json);
    return 0;
}

} // namespace mailroom::cluster_sim
