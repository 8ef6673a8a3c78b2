// A mailroom server in its own process, for the fault-injection tests (label "faults"): the
// tests kill it, stop it and restart it on the same port.
//
//     fault_server <port> [tcp|ws [id]]   (port 0: pick a free one; default tcp, echo-1)
//
// It serves "echo-1" (or `id`; type "echo") over tcp (or ws, path "/") on 127.0.0.1 with
//   echoRemote.whoami() -> string id
//   echoRemote.late_whoami(int ms) -> string id   (after ms milliseconds; prints "started")
//   echoRemote.echo(string) -> string
//   echoRemote.add(int, int) -> int
//   echoRemote.sleep(int ms) -> int ms   (answers after ms milliseconds; prints "started")
// prints "port <n>" once it listens, "started" each time a sleep call starts (so a test knows
// its calls are in flight), and exits on SIGTERM or SIGINT.

#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/ws.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace {

namespace asio = boost::asio;

/// One line on stdout, flushed at once: the test reads it through a pipe.
void say(const std::string& line)
{
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv)
{
    const std::string transport = argc >= 3 ? argv[2] : "tcp";
    const std::string id = argc == 4 ? argv[3] : "echo-1";
    if (argc < 2 || argc > 4 || (transport != "tcp" && transport != "ws")) {
        std::fprintf(stderr, "usage: %s <port> [tcp|ws [id]]   (port 0: any free port)\n",
                     argv[0]);
        return 2;
    }
    const auto port = static_cast<std::uint16_t>(std::strtoul(argv[1], nullptr, 10));

    asio::io_context ioc(1);
    mailroom::server srv(ioc.get_executor(),
                         {.server_id = id, .log = {.min_level = mailroom::log_level::off}});
    auto& d = srv.get_dispatcher();
    d.add("echoRemote", "whoami", [&id] { return id; });
    d.add("echoRemote", "echo", [](std::string s) { return s; });
    d.add("echoRemote", "add", [](int a, int b) { return a + b; });
    d.add("echoRemote", "sleep", [&ioc](int ms, mailroom::reply_callback<int> reply) {
        say("started");
        auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(ms));
        t->async_wait([t, ms, reply](const boost::system::error_code&) { reply(ms); });
    });
    d.add("echoRemote", "late_whoami",
          [&ioc, &id](int ms, mailroom::reply_callback<std::string> reply) {
              say("started");
              auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(ms));
              t->async_wait([t, &id, reply](const boost::system::error_code&) { reply(id); });
          });

    const mailroom::logger quiet{.min_level = mailroom::log_level::off};
    std::shared_ptr<mailroom::acceptor> acceptor;
    std::function<std::uint16_t()> bound;
    if (transport == "ws") {
        auto a = mailroom::ws::make_acceptor(ioc.get_executor(), {.port = port, .log = quiet});
        bound = [a] { return a->port(); };
        acceptor = a;
    } else {
        auto a = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = port, .log = quiet});
        bound = [a] { return a->port(); };
        acceptor = a;
    }
    if (auto ec = srv.listen(acceptor)) {
        std::fprintf(stderr, "listen on port %u: %s\n", unsigned(port), ec.message().c_str());
        return 1;
    }
    say("port " + std::to_string(bound()));

    asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code&, int) {
        srv.stop();
        ioc.stop();
    });
    ioc.run();
    return 0;
}
