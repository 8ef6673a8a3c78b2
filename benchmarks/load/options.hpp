#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mailroom::load {

/// Where the load generator's server and client run.
enum class run_mode {
    inproc, ///< both in this process, over loopback
    server, ///< only the echo server; serves until SIGINT/SIGTERM or stdin EOF
    client, ///< only the client, against a `--mode server` elsewhere
};

const char* to_string(run_mode m) noexcept;

/// The command line of mailroom-load; defaults are the ones the usage text states.
struct load_options {
    std::string transport = "tcp";
    run_mode mode = run_mode::inproc;
    std::string host = "127.0.0.1";
    /// 0 picks a free port (server, inproc); a client needs a real one.
    std::uint16_t port = 0;
    /// Calls kept outstanding at once.
    std::uint64_t inflight = 100;
    /// Calls made in total, warm-up included.
    std::uint64_t calls = 100'000;
    /// Bytes of the echoed string.
    std::uint64_t payload = 64;
    /// Threads running the io_context.
    unsigned threads = 1;
    bool json = false;
    bool help = false;
};

/// Calls made before the clock starts: min(1000, calls / 10).
std::uint64_t warmup_calls(const load_options& o) noexcept;

/// Parses argv; on a bad command line writes why to `error` and returns nothing.
std::optional<load_options> parse_options(int argc, char** argv, std::string& error);

/// The usage text (ends with a newline).
std::string usage(const char* argv0);

} // namespace mailroom::load
