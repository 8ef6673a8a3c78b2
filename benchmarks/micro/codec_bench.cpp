// Codec: what the proxy (encode request), the session (decode request), the responder
// (encode response) and the typed completion (decode response + convert) do per call.

#include <mailroom/protocol/codec.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <tuple>

#include "bench_support.hpp"

namespace {

using namespace mailroom;

// As the proxy does it: a fresh frame per call (one allocation per growth step).
void encode_request_fresh(benchmark::State& state)
{
    const auto path = bench::echo_path();
    const std::tuple<std::string> args{bench::payload(state.range(0))};
    std::uint64_t id = 1;
    for (auto _ : state) {
        frame f;
        protocol::encode_request(f, id++, path, args, 30'000);
        benchmark::DoNotOptimize(f.body().data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_request_fresh)->Arg(64)->Arg(4096);

// The packing alone: one frame reused (its capacity kept).
void encode_request_reused(benchmark::State& state)
{
    const auto path = bench::echo_path();
    const std::tuple<std::string> args{bench::payload(state.range(0))};
    std::uint64_t id = 1;
    frame f;
    for (auto _ : state) {
        f.clear();
        protocol::encode_request(f, id++, path, args, 30'000);
        benchmark::DoNotOptimize(f.body().data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_request_reused)->Arg(64)->Arg(4096);

frame make_request(std::int64_t size)
{
    frame f;
    protocol::encode_request(f, 123456, bench::echo_path(),
                             std::tuple<std::string>{bench::payload(size)}, 30'000);
    return f;
}

// As the server session does it: the thread's zone, cleared after each message; strings
// referenced in place.
void decode_request(benchmark::State& state)
{
    const frame f = make_request(state.range(0));
    msgpack::zone zone;
    for (auto _ : state) {
        protocol::message msg;
        auto ec = protocol::decode(f.body(), zone, msg);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(msg.request.args.msgpack().via.array.ptr);
        zone.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_request)->Arg(64)->Arg(4096);

// The argument conversion the echo binding then does (msgpack str -> std::string).
void convert_request_args(benchmark::State& state)
{
    const frame f = make_request(state.range(0));
    msgpack::zone zone;
    protocol::message msg;
    protocol::decode(f.body(), zone, msg);
    for (auto _ : state) {
        std::string s;
        msg.request.args.msgpack().via.array.ptr[0].convert(s);
        benchmark::DoNotOptimize(s.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(convert_request_args)->Arg(64)->Arg(4096);

// As the responder does it: a fresh frame per answer.
void encode_response(benchmark::State& state)
{
    const std::string result = bench::payload(state.range(0));
    std::uint64_t id = 1;
    for (auto _ : state) {
        frame f;
        protocol::encode_response(f, id++, result);
        benchmark::DoNotOptimize(f.body().data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_response)->Arg(64)->Arg(4096);

// As the client does it: decode the response, then convert the result to std::string.
void decode_response(benchmark::State& state)
{
    frame f;
    protocol::encode_response(f, 123456, bench::payload(state.range(0)));
    msgpack::zone zone;
    for (auto _ : state) {
        protocol::message msg;
        auto ec = protocol::decode(f.body(), zone, msg);
        auto s = msg.response.result.msgpack().as<std::string>();
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(s.data());
        zone.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_response)->Arg(64)->Arg(4096);

// What a transport does to every frame to filter keepalives.
void peek_kind(benchmark::State& state)
{
    const frame f = make_request(64);
    for (auto _ : state)
        benchmark::DoNotOptimize(protocol::peek_kind(f.body()));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(peek_kind);

} // namespace
