// The pending-call table of a server slot: one insert when a call is sent and one take
// when its response arrives, with N calls in flight (steady state, deadlines in order).

#include "client/pending_calls.hpp"

#include <mailroom/client/detail/call_handler.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

using namespace mailroom;
using clock_type = std::chrono::steady_clock;

// The table alone (a trivial handler).
void insert_take(benchmark::State& state)
{
    const auto inflight = static_cast<std::uint64_t>(state.range(0));
    detail::pending_calls<std::uint64_t> table;
    auto now = clock_type::now();
    std::uint64_t id = 1;
    for (; id <= inflight; ++id)
        table.insert(id, now + std::chrono::microseconds(id), id);
    for (auto _ : state) {
        table.insert(id, now + std::chrono::microseconds(id), id);
        benchmark::DoNotOptimize(table.take(id - inflight));
        ++id;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(insert_take)->Arg(1)->Arg(100)->Arg(10'000);

// Two timeouts interleaved (1 s and 2 s): about half the deadlines arrive earlier than the
// last one queued and take the heap instead of the ring.
void insert_take_two_timeouts(benchmark::State& state)
{
    const auto inflight = static_cast<std::uint64_t>(state.range(0));
    detail::pending_calls<std::uint64_t> table;
    auto now = clock_type::now();
    auto deadline = [now](std::uint64_t id) {
        return now + std::chrono::microseconds(id) + std::chrono::seconds(1 + id % 2);
    };
    std::uint64_t id = 1;
    for (; id <= inflight; ++id)
        table.insert(id, deadline(id), id);
    for (auto _ : state) {
        table.insert(id, deadline(id), id);
        benchmark::DoNotOptimize(table.take(id - inflight));
        ++id;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(insert_take_two_timeouts)->Arg(100)->Arg(10'000);

// With the station's real handler type: a move-only type-erased callable (its allocation
// and the move in and out of the table included).
void insert_take_call_handler(benchmark::State& state)
{
    const auto inflight = static_cast<std::uint64_t>(state.range(0));
    detail::pending_calls<detail::call_handler> table;
    auto now = clock_type::now();
    std::uint64_t id = 1;
    std::uint64_t sink = 0;
    auto make = [&sink](std::uint64_t v) {
        return detail::call_handler(
            [&sink, v](std::error_code, const protocol::response_view*) { sink += v; });
    };
    for (; id <= inflight; ++id)
        table.insert(id, now + std::chrono::microseconds(id), make(id));
    for (auto _ : state) {
        table.insert(id, now + std::chrono::microseconds(id), make(id));
        auto h = table.take(id - inflight);
        (*h)({}, nullptr);
        ++id;
    }
    benchmark::DoNotOptimize(sink);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(insert_take_call_handler)->Arg(1)->Arg(100)->Arg(10'000);

// Expiry: a batch of 100 calls timing out at once, out of 10,000.
void take_expired(benchmark::State& state)
{
    detail::pending_calls<std::uint64_t> table;
    const auto base = clock_type::now();
    std::uint64_t id = 1;
    std::vector<std::uint64_t> out;
    for (; id <= 10'000; ++id)
        table.insert(id, base + std::chrono::microseconds(id), id);
    for (auto _ : state) {
        out.clear();
        const auto first = id - 10'000;
        table.take_expired(base + std::chrono::microseconds(first + 99), out);
        for (int k = 0; k < 100; ++k, ++id)
            table.insert(id, base + std::chrono::microseconds(id), id);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(take_expired);

} // namespace
