// Framing: splitting a received byte stream into frames, the way framed_stream reads it
// (prepare 64 KiB, copy what arrived, commit, then next() until nothing is buffered).

#include <mailroom/protocol/frame_parser.hpp>

#include <mailroom/protocol/codec.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "bench_support.hpp"

namespace {

using namespace mailroom;

// range(0): body bytes of the payload; range(1): frames per read.
void parse_batch(benchmark::State& state)
{
    frame one;
    protocol::encode_request(one, 123456, bench::echo_path(),
                             std::tuple<std::string>{bench::payload(state.range(0))}, 30'000);
    const auto wire = one.wire();
    std::vector<char> stream;
    for (std::int64_t k = 0; k < state.range(1); ++k)
        stream.insert(stream.end(), wire.begin(), wire.end());

    protocol::frame_parser parser(8u << 20);
    std::error_code ec;
    for (auto _ : state) {
        auto buf = parser.prepare(std::max<std::size_t>(64u << 10, stream.size()));
        std::memcpy(buf.data(), stream.data(), stream.size());
        parser.commit(stream.size());
        while (auto body = parser.next(ec))
            benchmark::DoNotOptimize(body->data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(1));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(parse_batch)->Args({64, 1})->Args({64, 100})->Args({4096, 1})->Args({4096, 16});

// A frame that arrives in two reads (the prefix and the body split).
void parse_split(benchmark::State& state)
{
    frame one;
    protocol::encode_request(one, 123456, bench::echo_path(),
                             std::tuple<std::string>{bench::payload(64)}, 30'000);
    const auto wire = one.wire();
    const std::size_t half = wire.size() / 2;
    protocol::frame_parser parser(8u << 20);
    std::error_code ec;
    for (auto _ : state) {
        auto b1 = parser.prepare(64u << 10);
        std::memcpy(b1.data(), wire.data(), half);
        parser.commit(half);
        benchmark::DoNotOptimize(parser.next(ec));
        auto b2 = parser.prepare(64u << 10);
        std::memcpy(b2.data(), wire.data() + half, wire.size() - half);
        parser.commit(wire.size() - half);
        benchmark::DoNotOptimize(parser.next(ec));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(parse_split);

} // namespace
