// The memory scenarios of mailroom-load: idle links (--idle-connections) and calls held in
// flight (--hold-calls).

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <tuple>

#include "mailroom_echo.hpp"
#include "proc_stats.hpp"
#include "runner.hpp"

namespace mailroom::load {

namespace asio = boost::asio;

namespace {

double per(double after, double before, double n) { return n > 0 ? (after - before) / n : -1; }

void print_fields(bool json, const std::string& title,
                  const std::vector<std::pair<std::string, std::string>>& fields)
{
    if (json) {
        std::string out = "{";
        for (std::size_t i = 0; i < fields.size(); ++i)
            out += fmt::format("{}\"{}\":{}", i ? "," : "", fields[i].first, fields[i].second);
        fmt::print("{}}}\n", out);
    } else {
        fmt::print("{}\n", title);
        for (const auto& [k, v] : fields)
            fmt::print("  {:<36} {}\n", k, v);
    }
    std::fflush(stdout);
}

std::string q(std::string_view s) { return fmt::format("\"{}\"", s); }
std::string num(double v) { return fmt::format("{:.0f}", v); }

} // namespace

int run_idle_connections(const load_options& in)
{
    load_options o = in;
    if (o.transport == "raw" && o.mode == run_mode::inproc) {
        fmt::print(stderr, "mailroom-load: --idle-connections with --transport raw needs "
                           "--mode separate (raw connects before the loop runs)\n");
        return 2;
    }
    const std::uint64_t wanted = o.idle_connections;
    const std::uint64_t per_link_fds = o.mode == run_mode::inproc ? 2 : 1;
    const std::size_t nofile = raise_nofile(wanted * per_link_fds + 256);
    std::uint64_t n = wanted;
    bool limited = false;
    if (nofile < wanted * per_link_fds + 256) {
        limited = true;
        n = nofile > 256 ? (nofile - 256) / per_link_fds : 0;
        fmt::print(stderr, "mailroom-load: RLIMIT_NOFILE is {}: {} links instead of {}\n",
                   nofile, n, wanted);
        if (n == 0)
            return 1;
    }
    // One call on every link, at most 1000 connecting at once (the listen backlog).
    o.connections = static_cast<unsigned>(n);
    o.calls = n;
    o.inflight = std::min<std::uint64_t>(n, 1000);
    o.warmup = 0;
    o.duration_s = 0;

    asio::io_context ioc;
    server_side server(ioc, o);
    const auto s0 = server.stats();
    const double c_heap0 = static_cast<double>(heap_in_use());
    const double c_rss0 = static_cast<double>(current_rss_kib());
    std::optional<server_stats> s1;
    double c_heap1 = 0, c_rss1 = 0;

    std::unique_ptr<caller> c;
    load_hooks hooks{.measure_begin = {},
                     .measure_end =
                         [&] {
                             c_heap1 = static_cast<double>(heap_in_use());
                             c_rss1 = static_cast<double>(current_rss_kib());
                             s1 = server.stats();
                         },
                     .done =
                         [&] {
                             c->close();
                             server.stop();
                         }};
    echo_load load(o, std::move(hooks));
    c = make_caller(ioc, o, server.port(), load);
    asio::post(ioc, [&] { load.start(*c); });
    run_on_threads(ioc, o.threads);
    auto result = load.take_result();
    server.finish();
    if (result.errors > 0 || !s0 || !s1) {
        fmt::print(stderr, "mailroom-load: idle-connections run failed: {}\n",
                   result.errors ? result.first_error : "no server stats");
        return 1;
    }
    const double dn = static_cast<double>(n);
    const bool inproc = o.mode == run_mode::inproc;
    print_fields(
        o.json,
        fmt::format("mailroom-load: {} idle {} links ({} mode{})", n, o.transport,
                    to_string(o.mode), inproc ? "; server figures are the whole process" : ""),
        {{"scenario", q("idle_connections")},
         {"transport", q(o.transport)},
         {"mode", q(to_string(o.mode))},
         {"connections", num(dn)},
         {"connections_requested", num(static_cast<double>(wanted))},
         {"limited_by_nofile", limited ? "true" : "false"},
         {"nofile_limit", num(static_cast<double>(nofile))},
         {"server_links_open", num(s1->connections)},
         {"server_rss_kib_before", num(static_cast<double>(s0->rss_kib))},
         {"server_rss_kib_after", num(static_cast<double>(s1->rss_kib))},
         {"server_peak_rss_kib", num(static_cast<double>(s1->maxrss_kib))},
         {"server_rss_bytes_per_connection",
          num(per(static_cast<double>(s1->rss_kib), static_cast<double>(s0->rss_kib), dn) * 1024)},
         {"server_heap_bytes_per_connection", num(per(s1->heap_bytes, s0->heap_bytes, dn))},
         {"client_rss_bytes_per_connection", inproc ? "null" : num(per(c_rss1, c_rss0, dn) * 1024)},
         {"client_heap_bytes_per_connection", inproc ? "null" : num(per(c_heap1, c_heap0, dn))}});
    return 0;
}

int run_hold_calls(const load_options& in)
{
    load_options o = in;
    const std::uint64_t n = o.hold_calls;
    asio::io_context ioc;
    server_side server(ioc, o);
    mailroom_client client(ioc, o, server.port(), 1);
    const std::string payload = make_payload(o.payload);
    const std::tuple<std::string> args{payload};

    std::optional<server_stats> s0, s1;
    double c0 = 0, c1 = 0;
    std::uint64_t completed = 0, errors = 0;
    std::string first_error;
    bool timed_out = false;
    double last_held = 0;
    asio::steady_timer poll(ioc);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);

    // Calls leave in chunks (100 calls or 256 KiB), each once the server holds the previous
    // ones: a burst of all of them would meet the station's write-queue bound, and would
    // leave the client's write buffers (which keep their capacity) as large as the burst.
    const std::uint64_t chunk = std::clamp<std::uint64_t>((256u << 10) / (o.payload + 128), 1, 100);
    std::uint64_t issued = 0;
    std::function<void(std::error_code, const std::string&)> on_held_reply;
    auto issue_chunk = [&] {
        const auto end = std::min(n, issued + chunk);
        for (; issued < end; ++issued)
            client.rpc(0).async_call<std::string>(hold_path(), route_param{}, args, on_held_reply);
    };
    std::function<void()> check = [&] {
        if (errors > 0) { // e.g. queue_full: stop, the rest completes with `cancelled`
            client.close();
            return;
        }
        auto s = server.stats();
        if (s)
            last_held = s->held;
        if (s && s->held >= static_cast<double>(issued) && issued < n && errors == 0)
            issue_chunk();
        if (s && s->held >= static_cast<double>(n)) {
            c1 = static_cast<double>(heap_in_use());
            s1 = s;
            server.release();
            return;
        }
        if (std::chrono::steady_clock::now() >= give_up) {
            timed_out = true;
            client.close();
            return;
        }
        poll.expires_after(std::chrono::milliseconds(2));
        poll.async_wait([&](const boost::system::error_code& ec) {
            if (!ec)
                check();
        });
    };
    on_held_reply = [&](std::error_code ec, const std::string&) {
        if (ec && errors++ == 0)
            first_error = ec.message();
        if (++completed == n) {
            client.close();
            server.stop();
        }
    };
    // The first call opens the link and grows its buffers; then the baseline.
    asio::post(ioc, [&] {
        client.rpc(0).async_call<std::string>(
            echo_path(), route_param{}, args, [&](std::error_code ec, std::string) {
                if (ec) {
                    first_error = ec.message();
                    errors = 1;
                    client.close();
                    server.stop();
                    return;
                }
                s0 = server.stats();
                c0 = static_cast<double>(heap_in_use());
                issue_chunk();
                check();
            });
    });
    run_on_threads(ioc, o.threads);
    server.finish();
    if (errors > 0 || timed_out || !s0 || !s1) {
        fmt::print(stderr,
                   "mailroom-load: hold-calls run failed: {}; the server held {:.0f} of {} "
                   "calls, {} completed, {} failed{}{}\n",
                   timed_out ? "timed out" : "a call failed", last_held, n, completed, errors,
                   first_error.empty() ? "" : "; first: ", first_error);
        return 1;
    }
    const double dn = static_cast<double>(n);
    const bool inproc = o.mode == run_mode::inproc;
    const double server_per = per(s1->heap_bytes, s0->heap_bytes, dn);
    const double client_per = inproc ? -1 : per(c1, c0, dn);
    const double total = inproc ? server_per : server_per + client_per;
    print_fields(
        o.json,
        fmt::format("mailroom-load: {} calls held in flight, {}-byte payload ({} mode{})", n,
                    o.payload, to_string(o.mode),
                    inproc ? "; heap figures are the whole process" : ""),
        {{"scenario", q("hold_calls")},
         {"transport", q(o.transport)},
         {"mode", q(to_string(o.mode))},
         {"held_calls", num(dn)},
         {"payload", num(static_cast<double>(o.payload))},
         {"client_heap_bytes_per_call", inproc ? "null" : num(client_per)},
         {"server_heap_bytes_per_call", num(server_per)},
         {"total_heap_bytes_per_call", num(total)},
         {"server_rss_kib_before", num(static_cast<double>(s0->rss_kib))},
         {"server_rss_kib_held", num(static_cast<double>(s1->rss_kib))}});
    return 0;
}

} // namespace mailroom::load
