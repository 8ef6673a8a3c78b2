#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::load {

/// Where the load generator's server and client run.
enum class run_mode {
    inproc,   ///< both in this process, over loopback
    server,   ///< only the echo server; serves until SIGINT/SIGTERM or stdin EOF
    client,   ///< only the client, against a `--mode server` elsewhere
    separate, ///< the client here, the server in a child process (this program, --mode server)
};

const char* to_string(run_mode m) noexcept;

/// Whether `transport` goes through Redis ("redis", "raw-redis", "raw-crawlab").
bool uses_redis(std::string_view transport) noexcept;

/// The ceiling `--vs-raw` compares `transport` with: "raw-redis" for "redis", else "raw".
std::string raw_counterpart(std::string_view transport);

/// The command line of mailroom-load; defaults are the ones the usage text states.
struct load_options {
    /// "tcp", "ws", "unix" or "redis" (mailroom over that transport), "raw" (bare
    /// length-prefixed echo), "raw-redis" or "raw-crawlab" (the Redis round trips without
    /// mailroom, raw_redis.cpp).
    std::string transport = "tcp";
    /// The Redis of the redis transports; empty: inproc and separate runs start their own
    /// redis-server on a free loopback port (server and client modes need one).
    std::string redis_url;
    /// The redis transports: blocking takes (BLMOVE, BRPOP) the node keeps outstanding on its
    /// connection (redis: acceptor_options::take_depth); 1 is the default and Crawlab's.
    unsigned take_depth = 1;
    run_mode mode = run_mode::inproc;
    std::string host = "127.0.0.1";
    /// 0 picks a free port (server, inproc); a client needs a real one.
    std::uint16_t port = 0;
    /// Calls kept outstanding at once.
    std::uint64_t inflight = 100;
    /// Calls made in total, warm-up included (unless `duration_s` is set).
    std::uint64_t calls = 100'000;
    /// Measured seconds; when > 0 the run stops issuing after this long instead of at `calls`.
    double duration_s = 0;
    /// Calls before the clock starts; unset: min(1000, calls/10), or 1000 with a duration.
    std::optional<std::uint64_t> warmup;
    /// Bytes of the echoed string.
    std::uint64_t payload = 64;
    /// Threads running the io_context.
    unsigned threads = 1;
    /// Client links to the server (tcp: one mail station per link; raw: one socket each).
    unsigned connections = 1;
    /// CPUs the client is pinned to (empty: not pinned).
    std::vector<int> client_cpus;
    /// CPUs the server is pinned to (empty: not pinned).
    std::vector<int> server_cpus;
    /// Memory scenario: open this many idle links and report the server's memory per link.
    std::uint64_t idle_connections = 0;
    /// Memory scenario: keep this many calls unanswered and report heap per in-flight call.
    std::uint64_t hold_calls = 0;
    /// Overload scenario: the server's one service costs this many microseconds per call.
    std::uint64_t overload_us = 0;
    /// Overload scenario: server_too_busy's `max_in_flight`.
    std::uint64_t busy_limit = 32;
    /// Runs of the whole measurement; medians are reported.
    unsigned repeat = 1;
    /// Also run the raw mode in each round and report the ratios.
    bool vs_raw = false;
    /// Count every call in a metrics registry on both ends, as an App does by default.
    bool metrics = false;
    bool json = false;
    bool help = false;
};

/// Calls made before the clock starts.
std::uint64_t warmup_calls(const load_options& o) noexcept;

/// Parses argv; on a bad command line writes why to `error` and returns nothing.
std::optional<load_options> parse_options(int argc, char** argv, std::string& error);

/// The usage text (ends with a newline).
std::string usage(const char* argv0);

/// "0" / "0,1" for a CPU list; "" when empty.
std::string format_cpus(const std::vector<int>& cpus);

} // namespace mailroom::load
