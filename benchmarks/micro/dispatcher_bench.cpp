// Dispatcher: the lookup of (ns, service, method) per request (uncached, as `find` does it),
// and a whole dispatch of the echo method as a session makes it (decode, cached lookup,
// argument conversion, handler, response encoding) into a connection that discards the frame.

#include <mailroom/server/dispatcher.hpp>

#include <mailroom/protocol/codec.hpp>
#include <mailroom/server/acceptor.hpp>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>
#include <tuple>

#include "bench_support.hpp"

namespace {

using namespace mailroom;

// 20 services of 10 methods each, plus echoRemote.echo.
void fill(dispatcher& d)
{
    for (int s = 0; s < 20; ++s)
        for (int m = 0; m < 10; ++m)
            d.add(fmt::format("service{}Remote", s), fmt::format("method{}", m),
                  [](int a) { return a; });
    d.add("echoRemote", "echo", [](std::string s) { return s; });
}

void find_hit(benchmark::State& state)
{
    dispatcher d;
    fill(d);
    const auto path = bench::echo_path();
    raw_handler h;
    for (auto _ : state) {
        auto ec = d.find(path, h);
        benchmark::DoNotOptimize(ec);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(find_hit);

void find_unknown_method(benchmark::State& state)
{
    dispatcher d;
    fill(d);
    protocol::method_path path = bench::echo_path();
    path.method = "nope";
    raw_handler h;
    for (auto _ : state) {
        auto ec = d.find(path, h);
        benchmark::DoNotOptimize(ec);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(find_unknown_method);

class null_connection final : public connection {
public:
    void send(frame f) override { benchmark::DoNotOptimize(f.body().data()); }
    void close() override {}
    std::string remote_address() const override { return "bench"; }
};

// What the server does per request between the socket read and the socket write.
void dispatch_echo(benchmark::State& state)
{
    dispatcher d;
    fill(d);
    auto conn = std::make_shared<null_connection>();
    frame req;
    protocol::encode_request(req, 7, bench::echo_path(),
                             std::tuple<std::string>{bench::payload(state.range(0))}, 30'000);
    std::uint64_t id = 1;
    // As a session does it: one zone, cleared after each message; one clock read; the
    // connection's cache of method lookups.
    msgpack::zone zone;
    dispatcher::lookup_cache cache;
    for (auto _ : state) {
        protocol::message msg;
        protocol::decode(req.body(), zone, msg);
        call_context ctx;
        ctx.request_id = id;
        ctx.path = msg.request.path;
        d.dispatch(ctx, msg.request.args, responder(conn, id++), std::chrono::steady_clock::now(),
                   &cache);
        zone.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(dispatch_echo)->Arg(64)->Arg(4096);

} // namespace
