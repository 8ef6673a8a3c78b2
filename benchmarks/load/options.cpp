#include "options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <string_view>

namespace mailroom::load {
namespace {

template <class Int>
bool parse_number(std::string_view text, Int min, Int max, Int& out)
{
    Int v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
        return false;
    out = v;
    return true;
}

bool parse_cpus(std::string_view text, std::vector<int>& out)
{
    out.clear();
    while (!text.empty()) {
        const auto comma = text.find(',');
        int cpu = 0;
        if (!parse_number<int>(text.substr(0, comma), 0, 1023, cpu))
            return false;
        out.push_back(cpu);
        text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    }
    return !out.empty();
}

} // namespace

const char* to_string(run_mode m) noexcept
{
    switch (m) {
    case run_mode::inproc:
        return "inproc";
    case run_mode::server:
        return "server";
    case run_mode::client:
        return "client";
    case run_mode::separate:
        return "separate";
    }
    return "?";
}

bool uses_redis(std::string_view transport) noexcept
{
    return transport == "redis" || transport == "raw-redis" || transport == "raw-crawlab";
}

std::string raw_counterpart(std::string_view transport)
{
    return transport == "redis" ? "raw-redis" : "raw";
}

std::uint64_t warmup_calls(const load_options& o) noexcept
{
    if (o.warmup)
        return o.duration_s > 0 ? *o.warmup : std::min(*o.warmup, o.calls);
    if (o.duration_s > 0)
        return 1000;
    return std::min<std::uint64_t>(1000, o.calls / 10);
}

std::string format_cpus(const std::vector<int>& cpus)
{
    return fmt::format("{}", fmt::join(cpus, ","));
}

std::string usage(const char* argv0)
{
    return fmt::format(
        R"(usage: {} [options]

Echo load generator: calls echoRemote.echo(std::string) -> std::string (server type "echo")
keeping a fixed number of calls in flight, and reports calls/s, latency percentiles, CPU
per call and peak RSS.

  --mode inproc|server|client|separate
                               inproc: server and client in this process over loopback
                               (default); server: serve on --host/--port, print
                               "listening on PORT", run until SIGINT/SIGTERM or EOF on
                               stdin (when stdin is a pipe, socket or terminal);
                               client: call the server at --host/--port;
                               separate: start this program as the server in a child
                               process (--mode server) and run the client here
  --transport tcp|ws|unix|redis|raw|raw-redis|raw-crawlab
                               tcp: mailroom's whole call path over its TCP transport
                               (default); ws: over its WebSocket transport; unix: over
                               the Unix-socket transport of examples/custom_transport;
                               redis: over its Redis-queue transport;
                               raw: the same echo over a bare length-prefixed socket
                               with the same write coalescing (the ceiling of tcp);
                               raw-redis: the redis transport's round trip (LPUSH, BLMOVE,
                               LPUSH + LREM, BRPOP/RPOP) with hiredis and Asio, no
                               mailroom (its ceiling); raw-crawlab: Crawlab's round trip
                               (LPUSH rpc:NODE, then BRPOP rpc:NODE:ID on the call's own
                               connection from a pool; the node BRPOPs and LPUSHes)
  --redis-url URL              redis://HOST:PORT of the Redis the redis transports use;
                               without it inproc and separate runs start a redis-server
                               of their own on a free loopback port (one per run), and
                               its CPU is measured too (/proc/PID/stat; with --redis-url,
                               the PID INFO reports, when /proc shows it)
  --take-depth N               redis, raw-redis and raw-crawlab: the node keeps N blocking
                               takes (BLMOVE, BRPOP) pipelined on its connection instead of
                               one (default 1, the transport's default and Crawlab's);
                               redis: acceptor_options::take_depth
  --host ADDR                  address to listen on / connect to (default 127.0.0.1);
                               with --transport unix, the socket path (inproc: a fresh
                               one in the temp directory unless ADDR contains a '/')
  --port N                     port; 0 picks a free one (default 0; client needs one)
  --inflight N                 calls kept outstanding at once (default 100)
  --calls N                    calls in total, warm-up included (default 100000)
  --duration SEC               measure for SEC seconds instead of a call count
  --warmup N                   calls before the clock starts (default min(1000, calls/10);
                               1000 with --duration)
  --payload BYTES              size of the echoed string (default 64)
  --threads N                  threads running the io_context (default 1); in inproc
                               mode server and client share them; raw-redis and
                               raw-crawlab (and redis with --vs-raw) need 1
  --connections N              client links (default 1): tcp opens N mail stations with
                               the one server (a station has one mail box per server id);
                               raw opens N sockets; calls go round robin over them
  --pin CPU[,CPU]              pin with sched_setaffinity: one CPU pins client and server
                               to it; two pin the client to the first and the server to
                               the second (inproc: the process to both)
  --repeat N                   run the measurement N times and report medians
  --vs-raw                     in every round also run --transport raw (raw-redis for
                               redis) with the same settings, and report mailroom/raw
                               ratios (medians of the per-round ratios)
  --idle-connections N         memory scenario: open N links, make one call on each, and
                               report the server's RSS and heap per idle link
  --hold-calls N               memory scenario: N calls the server holds unanswered; report
                               the heap per in-flight call on client and server
  --overload US                 overload scenario (inproc, tcp): the server's one service
                               costs US microseconds of CPU per call and sheds load with
                               server_too_busy; --inflight calls for --duration seconds
                               (default 3), then 4 in flight as long; reports calls admitted
                               and refused (server_busy) with the latency of each
  --busy-limit N               overload scenario: too_busy's max_in_flight (default 32)
  --metrics                    count every call in a metrics registry on both ends (what
                               an App does unless app_options::metrics is false)
  --json                       print one JSON object instead of a summary
  --help                       print this text

Warm-up: the first calls (at most --inflight at once) establish the link and are not
measured; once they have all completed the clock starts and the rest are timed. Latency
is per call, from issue to completion (steady_clock). CPU per call is the CPU time used
during the measured phase divided by the measured calls: in inproc mode the whole process
(client and server together); in separate mode client and server separately (the server
reports its getrusage over its control pipe); in client mode the client only. Over Redis,
redis-server's CPU is added when its process can be read.
A failed call (an error code or a wrong echo) stops the run: nothing more is issued, the
calls in flight complete and are counted too, and the exit status is 1.
Server control (--mode server, stdin lines): "stats" prints a "stats key=value ..." line,
"release" answers the held calls; EOF stops the server.
Exit status: 0 success, 1 failed calls or runtime error, 2 bad command line.
)",
        argv0);
}

std::optional<load_options> parse_options(int argc, char** argv, std::string& error)
{
    load_options o;
    constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
    constexpr std::array<std::string_view, 19> valued{
        "--transport", "--mode",     "--host",   "--port",        "--inflight",
        "--calls",     "--payload",  "--threads", "--duration",   "--warmup",
        "--connections", "--pin",    "--repeat", "--idle-connections", "--hold-calls",
        "--overload",  "--busy-limit", "--redis-url", "--take-depth"};
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            o.help = true;
            continue;
        }
        if (flag == "--json") {
            o.json = true;
            continue;
        }
        if (flag == "--vs-raw") {
            o.vs_raw = true;
            continue;
        }
        if (flag == "--metrics") {
            o.metrics = true;
            continue;
        }
        // Every other flag takes a value, as "--flag value" or "--flag=value".
        std::string_view value;
        const auto eq = flag.find('=');
        const auto name = flag.substr(0, eq);
        if (std::find(valued.begin(), valued.end(), name) == valued.end()) {
            error = fmt::format("unknown option {}", name);
            return std::nullopt;
        }
        if (eq != std::string_view::npos) {
            value = flag.substr(eq + 1);
            flag = name;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            error = fmt::format("{} needs a value", flag);
            return std::nullopt;
        }
        bool ok = true;
        if (flag == "--transport") {
            o.transport = value;
            if (o.transport != "tcp" && o.transport != "ws" && o.transport != "unix" &&
                o.transport != "raw" && !uses_redis(o.transport)) {
                error = fmt::format("unknown transport \"{}\" (tcp, ws, unix, redis, raw, "
                                    "raw-redis or raw-crawlab)",
                                    value);
                return std::nullopt;
            }
        } else if (flag == "--take-depth") {
            ok = parse_number<unsigned>(value, 1, 10'000, o.take_depth);
        } else if (flag == "--redis-url") {
            o.redis_url = value;
            ok = value.starts_with("redis://");
        } else if (flag == "--mode") {
            if (value == "inproc")
                o.mode = run_mode::inproc;
            else if (value == "server")
                o.mode = run_mode::server;
            else if (value == "client")
                o.mode = run_mode::client;
            else if (value == "separate")
                o.mode = run_mode::separate;
            else
                ok = false;
        } else if (flag == "--host") {
            o.host = value;
            ok = !value.empty();
        } else if (flag == "--port") {
            ok = parse_number<std::uint16_t>(value, 0, 65535, o.port);
        } else if (flag == "--inflight") {
            ok = parse_number<std::uint64_t>(value, 1, u64_max, o.inflight);
        } else if (flag == "--calls") {
            // Latencies are kept per call: 2^32 calls is 32 GiB of them already.
            ok = parse_number<std::uint64_t>(value, 1, std::uint64_t{1} << 32, o.calls);
        } else if (flag == "--duration") {
            double d = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
            ok = ec == std::errc{} && end == value.data() + value.size() && d > 0 && d <= 86400;
            o.duration_s = d;
        } else if (flag == "--warmup") {
            std::uint64_t w = 0;
            ok = parse_number<std::uint64_t>(value, 0, std::uint64_t{1} << 32, w);
            o.warmup = w;
        } else if (flag == "--payload") {
            // The frame limit is raised to fit; 1 GiB keeps that within reason.
            ok = parse_number<std::uint64_t>(value, 0, std::uint64_t{1} << 30, o.payload);
        } else if (flag == "--threads") {
            ok = parse_number<unsigned>(value, 1, 1024, o.threads);
        } else if (flag == "--connections") {
            ok = parse_number<unsigned>(value, 1, 100'000, o.connections);
        } else if (flag == "--pin") {
            std::vector<int> cpus;
            ok = parse_cpus(value, cpus) && cpus.size() <= 2;
            if (ok) {
                o.client_cpus = {cpus.front()};
                o.server_cpus = {cpus.back()};
            }
        } else if (flag == "--repeat") {
            ok = parse_number<unsigned>(value, 1, 1000, o.repeat);
        } else if (flag == "--idle-connections") {
            ok = parse_number<std::uint64_t>(value, 1, 1'000'000, o.idle_connections);
        } else if (flag == "--hold-calls") {
            ok = parse_number<std::uint64_t>(value, 1, 10'000'000, o.hold_calls);
        } else if (flag == "--overload") {
            ok = parse_number<std::uint64_t>(value, 1, 1'000'000, o.overload_us);
        } else if (flag == "--busy-limit") {
            ok = parse_number<std::uint64_t>(value, 1, 1'000'000, o.busy_limit);
        }
        if (!ok) {
            error = fmt::format("bad value \"{}\" for {}", value, flag);
            return std::nullopt;
        }
    }
    if (o.transport == "unix" && o.mode != run_mode::inproc &&
        o.host.find('/') == std::string::npos) {
        error = "--transport unix outside --mode inproc needs --host /path/to/socket";
        return std::nullopt;
    }
    if (uses_redis(o.transport)) {
        if ((o.mode == run_mode::server || o.mode == run_mode::client) && o.redis_url.empty()) {
            error = fmt::format("--mode {} --transport {} needs --redis-url (the Redis both "
                                "ends share)",
                                to_string(o.mode), o.transport);
            return std::nullopt;
        }
        if ((o.transport != "redis" || o.vs_raw) && o.threads != 1) {
            error = fmt::format("--transport {} runs on one thread",
                                o.transport == "redis" ? "raw-redis" : o.transport);
            return std::nullopt;
        }
        if (o.idle_connections || o.hold_calls || o.overload_us) {
            error = "the memory and overload scenarios run over tcp, ws or unix";
            return std::nullopt;
        }
    }
    if (o.take_depth != 1 && !uses_redis(o.transport)) {
        error = "--take-depth is for --transport redis, raw-redis or raw-crawlab";
        return std::nullopt;
    }
    if (o.mode == run_mode::client && o.port == 0 && o.transport != "unix" &&
        !uses_redis(o.transport)) {
        error = "--mode client needs --port (the port the server printed)";
        return std::nullopt;
    }
    if (o.vs_raw && o.mode == run_mode::client) {
        error = "--vs-raw needs a server of each kind: use --mode separate or inproc";
        return std::nullopt;
    }
    if (o.vs_raw && (o.transport.starts_with("raw"))) {
        error = "--vs-raw compares a mailroom transport with its raw ceiling; drop --transport "
                "raw*";
        return std::nullopt;
    }
    if (o.idle_connections && o.hold_calls) {
        error = "--idle-connections and --hold-calls are separate scenarios";
        return std::nullopt;
    }
    if (o.hold_calls && o.transport == "raw") {
        error = "--hold-calls needs --transport tcp (the raw echo answers at once)";
        return std::nullopt;
    }
    return o;
}

} // namespace mailroom::load
