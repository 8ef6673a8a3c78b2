// mailroom-load: an end-to-end echo load generator (STYLE.md R14).
//
// It drives the whole call path (proxy -> router -> mail station -> TCP mail box ->
// acceptor -> dispatcher -> remote and back) with a fixed number of calls in flight and
// reports calls/s and latency percentiles. Server and client run in one process over
// loopback (--mode inproc), or in two (--mode server, then --mode client --port PORT).
//
// usage: mailroom-load [--mode inproc|server|client] [--inflight N] [--calls N]
//                      [--payload BYTES] [--threads N] [--json] ...   (--help for all)

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "echo_load.hpp"
#include "options.hpp"
#include "report.hpp"

namespace asio = boost::asio;
namespace load = mailroom::load;

namespace {

// Runs `ioc` on `n` threads, the caller's included, until it runs out of work.
void run_on_threads(asio::io_context& ioc, unsigned n)
{
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < n; ++i)
        extra.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
        t.join();
}

// Calls `on_eof` when stdin reaches end of file, so a server started by a script dies
// with the script's pipe. Only pipes, sockets and terminals are watched: a background
// job's stdin is /dev/null, and that must not stop the server at once.
class stdin_watch {
public:
    explicit stdin_watch(asio::io_context& ioc) : in_(ioc) {}

    void start(std::function<void()> on_eof)
    {
        struct stat st {};
        if (::fstat(STDIN_FILENO, &st) != 0 ||
            !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || ::isatty(STDIN_FILENO)))
            return;
        // A duplicate, so closing the watch leaves fd 0 alone.
        int fd = ::dup(STDIN_FILENO);
        if (fd < 0)
            return;
        in_.assign(fd);
        on_eof_ = std::move(on_eof);
        read();
    }

    void stop()
    {
        boost::system::error_code ignored;
        // Asio made the (shared) file description non-blocking; hand it back as found.
        in_.native_non_blocking(false, ignored);
        in_.close(ignored);
    }

private:
    void read()
    {
        in_.async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec, std::size_t) {
            if (ec == asio::error::operation_aborted)
                return;
            if (ec) // EOF, or stdin went away
                return on_eof_();
            read(); // input is ignored
        });
    }

    asio::posix::stream_descriptor in_;
    std::array<char, 256> buf_{};
    std::function<void()> on_eof_;
};

int serve(const load::load_options& o)
{
    asio::io_context ioc;
    mailroom::server server(ioc.get_executor(), {.server_id = std::string(load::echo_server_id)});
    load::bind_echo(server.get_dispatcher());
    auto acceptor = mailroom::tcp::make_acceptor(
        ioc.get_executor(),
        {.host = o.host, .port = o.port, .max_frame_size = load::frame_limit(o)});
    if (auto ec = server.listen(acceptor)) {
        fmt::print(stderr, "mailroom-load: cannot listen on {}:{}: {}\n", o.host, o.port,
                   ec.message());
        return 1;
    }

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    stdin_watch watch(ioc);
    std::atomic<bool> stopping{false};
    auto stop = [&] {
        if (stopping.exchange(true))
            return;
        server.stop();
        boost::system::error_code ignored;
        signals.cancel(ignored);
        watch.stop();
    };
    // Both are armed before the port is printed: a script may signal right after reading it.
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec)
            stop();
    });
    watch.start([&] { asio::post(ioc, stop); });

    fmt::print("listening on {}\n", acceptor->port());
    std::fflush(stdout);
    run_on_threads(ioc, o.threads);
    return 0;
}

// Runs the client workload against `port`; `stop_server` runs when it is done (inproc).
int run_client(asio::io_context& ioc, const load::load_options& o, std::uint16_t port,
               std::function<void()> stop_server)
{
    mailroom::mail_station station(
        ioc.get_executor(),
        {.client_id = "mailroom-load",
         // Everything in flight may be queued while the first connect completes.
         .max_pending_per_server = std::max<std::size_t>(10'000, o.inflight),
         .max_frame_size = load::frame_limit(o)});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = std::string(load::echo_server_id), .server_type = "echo",
                        .host = o.host, .port = port});
    mailroom::router router;
    mailroom::proxy rpc(station, router);

    load::echo_load workload(rpc, o, [&] {
        station.close();
        stop_server();
    });
    asio::post(ioc, [&] { workload.start(); });
    run_on_threads(ioc, o.threads);

    auto result = workload.take_result();
    auto summary = load::summarise(result);
    if (o.json)
        fmt::print("{}", load::format_json(o, result, summary));
    else
        fmt::print("{}", load::format_text(o, result, summary));
    std::fflush(stdout);
    if (result.errors > 0) {
        fmt::print(stderr, "mailroom-load: {} of {} calls failed; first: {}\n", result.errors,
                   result.calls, result.first_error);
        return 1;
    }
    return 0;
}

int run_inproc(const load::load_options& o)
{
    asio::io_context ioc;
    mailroom::server server(ioc.get_executor(), {.server_id = std::string(load::echo_server_id)});
    load::bind_echo(server.get_dispatcher());
    auto acceptor = mailroom::tcp::make_acceptor(
        ioc.get_executor(),
        {.host = o.host, .port = o.port, .max_frame_size = load::frame_limit(o)});
    if (auto ec = server.listen(acceptor)) {
        fmt::print(stderr, "mailroom-load: cannot listen on {}:{}: {}\n", o.host, o.port,
                   ec.message());
        return 1;
    }
    return run_client(ioc, o, acceptor->port(), [&] { server.stop(); });
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
    if (options->help) {
        fmt::print("{}", load::usage(argv[0]));
        return 0;
    }
    try {
        switch (options->mode) {
        case load::run_mode::server:
            return serve(*options);
        case load::run_mode::client: {
            asio::io_context ioc;
            return run_client(ioc, *options, options->port, [] {});
        }
        case load::run_mode::inproc:
            return run_inproc(*options);
        }
    } catch (const std::exception& e) {
        // Startup failures only (a bad address, no memory for the latencies).
        fmt::print(stderr, "mailroom-load: {}\n", e.what());
    }
    return 1;
}
