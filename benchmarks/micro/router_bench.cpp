// Route functions: what every proxy call runs to pick its server, over 10 servers of the
// type, through the router (shared lock, per-type lookup) as the proxy calls it.

#include <mailroom/client/router.hpp>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using namespace mailroom;

server_table make_table()
{
    std::vector<server_info> servers;
    for (int i = 0; i < 10; ++i)
        servers.push_back({.id = fmt::format("echo-server-{}", i), .server_type = "echo",
                           .host = "127.0.0.1", .port = static_cast<std::uint16_t>(3000 + i)});
    for (int i = 0; i < 10; ++i)
        servers.push_back({.id = fmt::format("chat-server-{}", i), .server_type = "chat",
                           .host = "127.0.0.1", .port = static_cast<std::uint16_t>(4000 + i)});
    return server_table(std::move(servers));
}

/// Loads that a station would report: a few calls in flight per server.
struct bench_loads final : load_source {
    std::size_t in_flight(const server_info& s) const noexcept override
    {
        return s.port % 3;
    }
};

void route_with(benchmark::State& state, route_function f, const route_param& p)
{
    const auto table = make_table();
    const bench_loads loads;
    const route_context ctx(table, loads);
    router r(std::move(f));
    const auto path = bench::echo_path();
    for (auto _ : state) {
        auto id = r.route(p, path, ctx);
        benchmark::DoNotOptimize(id.data());
    }
    state.SetItemsProcessed(state.iterations());
}

void hash_key(benchmark::State& state) { route_with(state, routes::hash(), route_param("user-1234567")); }
BENCHMARK(hash_key);

void hash_number(benchmark::State& state) { route_with(state, routes::hash(), route_param(1234567)); }
BENCHMARK(hash_number);

// No route parameter: hash falls back to round robin (what mailroom-load's calls do).
void hash_no_param(benchmark::State& state) { route_with(state, routes::hash(), route_param()); }
BENCHMARK(hash_no_param);

void round_robin(benchmark::State& state) { route_with(state, routes::round_robin(), route_param()); }
BENCHMARK(round_robin);

void random_route(benchmark::State& state) { route_with(state, routes::random(), route_param()); }
BENCHMARK(random_route);

// Follows a schedule cached per table version: an atomic shared_ptr load and an increment.
void weighted_round_robin(benchmark::State& state)
{
    route_with(state, routes::weighted_round_robin(), route_param());
}
BENCHMARK(weighted_round_robin);

// Reads the load of each of the 10 candidates.
void least_active(benchmark::State& state)
{
    route_with(state, routes::least_active(), route_param());
}
BENCHMARK(least_active);

// A 64-bit hash of the key and a binary search over 1,600 ring points.
void consistent_hash_key(benchmark::State& state)
{
    route_with(state, routes::consistent_hash(), route_param("user-1234567"));
}
BENCHMARK(consistent_hash_key);

// A per-type override: the router's lookup by server type before the function.
void per_type_override(benchmark::State& state)
{
    const auto table = make_table();
    router r;
    r.set("echo", routes::round_robin());
    const auto path = bench::echo_path();
    const route_param p;
    for (auto _ : state) {
        auto id = r.route(p, path, table);
        benchmark::DoNotOptimize(id.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(per_type_override);

} // namespace
