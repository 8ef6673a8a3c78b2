// mailroom-load: an end-to-end echo load generator (STYLE.md R14).
//
// It drives the whole call path (proxy -> router -> mail station -> TCP mail box ->
// acceptor -> dispatcher -> remote and back) with a fixed number of calls in flight and
// reports calls/s, latency percentiles, CPU per call and peak RSS. Server and client run
// in one process over loopback (--mode inproc), in two (--mode separate starts the server
// as a child; or --mode server, then --mode client --port PORT). --transport raw runs the
// same echo over a bare length-prefixed socket: the ceiling; --vs-raw runs both in every
// round and prints the ratios. --idle-connections and --hold-calls measure memory.
//
// usage: mailroom-load [--mode inproc|server|client|separate]
//                      [--transport tcp|ws|unix|redis|raw|raw-redis|raw-crawlab]
//                      [--inflight N] [--calls N | --duration SEC] [--payload BYTES]
//                      [--repeat N] [--vs-raw] [--pin CPU[,CPU]] [--json] ...  (--help)

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "control.hpp"
#include "echo_server.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "report.hpp"
#include "runner.hpp"

namespace asio = boost::asio;
namespace load = mailroom::load;

namespace {

int serve(const load::load_options& o)
{
    if (!o.server_cpus.empty())
        if (auto err = load::pin_to(o.server_cpus))
            fmt::print(stderr, "mailroom-load: cannot pin the server: {}\n", *err);
    // Idle-connection runs open thousands of links.
    load::raise_nofile(1u << 20);
    asio::io_context ioc;
    std::unique_ptr<load::echo_server> server;
    try {
        server = load::make_echo_server(ioc, o);
    } catch (const std::exception& e) {
        fmt::print(stderr, "mailroom-load: {}\n", e.what());
        return 1;
    }

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    load::control_channel control(ioc);
    std::atomic<bool> stopping{false};
    auto stop = [&] {
        if (stopping.exchange(true))
            return;
        server->stop();
        boost::system::error_code ignored;
        signals.cancel(ignored);
        control.stop();
    };
    // Both are armed before the port is printed: a script may signal right after reading it.
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec)
            stop();
    });
    control.start({.stats = [&] { return load::own_stats(server->connections(), server->held()); },
                   .release = [&] { server->release_held(); },
                   .eof = [&] { asio::post(ioc, stop); }});

    fmt::print("listening on {}\n", server->port());
    std::fflush(stdout);
    load::run_on_threads(ioc, o.threads);
    return 0;
}

int run_rounds(const load::load_options& o)
{
    std::vector<load::measurement> main_runs, raw_runs;
    load::load_options raw = o;
    raw.transport = load::raw_counterpart(o.transport);
    bool failed = false;
    for (unsigned round = 0; round < o.repeat && !failed; ++round) {
        main_runs.push_back(load::run_once(o));
        failed = main_runs.back().result.errors > 0;
        if (o.vs_raw && !failed) {
            raw_runs.push_back(load::run_once(raw));
            failed = raw_runs.back().result.errors > 0;
        }
    }
    if (o.repeat == 1 && !o.vs_raw) {
        const auto& m = main_runs.front();
        fmt::print("{}", o.json ? load::format_json(o, m) : load::format_text(o, m));
    } else {
        fmt::print("{}", o.json ? load::format_rounds_json(o, main_runs, raw_runs)
                                : load::format_rounds_text(o, main_runs, raw_runs));
    }
    std::fflush(stdout);
    for (const auto* runs : {&main_runs, &raw_runs})
        for (const auto& m : *runs)
            if (m.result.errors > 0) {
                fmt::print(stderr, "mailroom-load: {} of {} {} calls failed; first: {}\n",
                           m.result.errors, m.result.calls, m.transport, m.result.first_error);
                return 1;
            }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::string error;
    auto options = load::parse_options(argc, argv, error);
    if (!options) {
        fmt::print(stderr, "mailroom-load: {}\n{}", error, load::usage(argv[0]));
        return 2;
    }
    const auto& o = *options;
    if (o.help) {
        fmt::print("{}", load::usage(argv[0]));
        return 0;
    }
    try {
        if (o.mode == load::run_mode::server)
            return serve(o);
        if (!o.client_cpus.empty()) {
            // inproc: the process runs both ends, so it gets both CPUs.
            auto cpus = o.client_cpus;
            if (o.mode == load::run_mode::inproc)
                cpus.insert(cpus.end(), o.server_cpus.begin(), o.server_cpus.end());
            if (auto err = load::pin_to(cpus)) {
                fmt::print(stderr, "mailroom-load: cannot pin: {}\n", *err);
                return 1;
            }
        }
        if (o.overload_us > 0)
            return load::run_overload(o);
        if (o.idle_connections > 0)
            return load::run_idle_connections(o);
        if (o.hold_calls > 0)
            return load::run_hold_calls(o);
        return run_rounds(o);
    } catch (const std::exception& e) {
        // Startup failures only (a bad address, a server that does not start, no memory).
        fmt::print(stderr, "mailroom-load: {}\n", e.what());
    }
    return 1;
}
