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
    }
    return "?";
}

std::uint64_t warmup_calls(const load_options& o) noexcept
{
    return std::min<std::uint64_t>(1000, o.calls / 10);
}

std::string usage(const char* argv0)
{
    return fmt::format(
        R"(usage: {} [options]

Echo load generator: calls echoRemote.echo(std::string) -> std::string (server type "echo")
keeping a fixed number of calls in flight, and reports calls/s and latency percentiles.

  --mode inproc|server|client  inproc: server and client in this process over loopback
                               (default); server: serve on --host/--port, print
                               "listening on PORT", run until SIGINT/SIGTERM or EOF on
                               stdin (when stdin is a pipe, socket or terminal);
                               client: call the server at --host/--port
  --transport NAME             transport to use; only "tcp" exists (default tcp)
  --host ADDR                  address to listen on / connect to (default 127.0.0.1)
  --port N                     port; 0 picks a free one (default 0; client needs one)
  --inflight N                 calls kept outstanding at once (default 100)
  --calls N                    calls in total, warm-up included (default 100000)
  --payload BYTES              size of the echoed string (default 64)
  --threads N                  threads running the io_context (default 1); in inproc
                               mode server and client share them
  --json                       print one JSON object instead of a summary
  --help                       print this text

Warm-up: the first min(1000, calls/10) calls (at most --inflight at once) establish the
link and are not measured; once they have all completed the clock starts and the rest
are timed. Latency is per call, from issue to completion (steady_clock). A failed call
(an error code or a wrong echo) stops the run: nothing more is issued, the calls in
flight complete and are counted too, and the exit status is 1.
Exit status: 0 success, 1 failed calls or runtime error, 2 bad command line.
)",
        argv0);
}

std::optional<load_options> parse_options(int argc, char** argv, std::string& error)
{
    load_options o;
    constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
    constexpr std::array<std::string_view, 8> valued{"--transport", "--mode",  "--host",
                                                     "--port",      "--inflight", "--calls",
                                                     "--payload",   "--threads"};
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
            if (o.transport != "tcp") {
                error = fmt::format("unknown transport \"{}\" (only \"tcp\" exists)", value);
                return std::nullopt;
            }
        } else if (flag == "--mode") {
            if (value == "inproc")
                o.mode = run_mode::inproc;
            else if (value == "server")
                o.mode = run_mode::server;
            else if (value == "client")
                o.mode = run_mode::client;
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
        } else if (flag == "--payload") {
            // The frame limit is raised to fit; 1 GiB keeps that within reason.
            ok = parse_number<std::uint64_t>(value, 0, std::uint64_t{1} << 30, o.payload);
        } else if (flag == "--threads") {
            ok = parse_number<unsigned>(value, 1, 1024, o.threads);
        }
        if (!ok) {
            error = fmt::format("bad value \"{}\" for {}", value, flag);
            return std::nullopt;
        }
    }
    if (o.mode == run_mode::client && o.port == 0) {
        error = "--mode client needs --port (the port the server printed)";
        return std::nullopt;
    }
    return o;
}

} // namespace mailroom::load
