// chat-driver: plays a scripted chat conversation against a running chat cluster and checks
// every answer (see conversation.hpp), as a user's clients would through the connectors.
//
// It is a plain client, not an App: a mail station with the TCP and Redis mail boxes, a router and a
// proxy, and the typed stubs of chat_protocol.hpp on top. It reads the same servers.json as
// the servers, waits until each answers sys.health.ping, then calls the connectors'
// entryRemote with to_server(connector id). Prints "chat: N checks passed" and exits 0, or
// prints the failure and exits 1.
//
// With --free-ports N it prints N free loopback ports instead (for run_cluster.sh).
//
// usage: chat-driver --config servers.json [--env NAME]
//        chat-driver --free-ports N

#include "chat_protocol.hpp"
#include "conversation.hpp"

#include <mailroom/app/config.hpp>
#include <mailroom/client.hpp>
#include <mailroom/redis.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;

namespace {

void print_usage(const char* argv0)
{
    std::fprintf(stderr,
                 "usage: %s --config servers.json [--env NAME]\n"
                 "       %s --free-ports N\n",
                 argv0, argv0);
}

/// Prints `n` distinct free loopback ports, one a line: binds them all to port 0 at once,
/// reads them back and closes them.
int print_free_ports(unsigned n)
{
    asio::io_context ioc;
    std::vector<asio::ip::tcp::acceptor> acceptors;
    std::vector<unsigned short> ports;
    try {
        for (unsigned i = 0; i < n; ++i) {
            auto& a = acceptors.emplace_back(
                ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
            ports.push_back(a.local_endpoint().port());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot bind a free port: %s\n", e.what());
        return 1;
    }
    for (auto port : ports)
        std::printf("%u\n", static_cast<unsigned>(port));
    return 0;
}

int play(const std::vector<mailroom::server_info>& cluster)
{
    asio::io_context ioc;
    // A server that is still starting refuses connects; the station retries them for up to
    // connect_timeout, so the first calls simply wait for it.
    mailroom::mail_station station(ioc.get_executor(),
                                   {.client_id = "chat-driver",
                                    .request_timeout = std::chrono::seconds(10),
                                    .connect_timeout = std::chrono::seconds(10)});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_transport("redis", mailroom::redis::make_mailbox_factory(),
                          mailroom::redis::protocol());
    station.replace_servers(cluster);
    mailroom::router router;
    mailroom::proxy proxy(station, router);
    chat::chat_rpc rpc(proxy);

    chat::conversation talk(rpc, cluster);
    int status = 1;
    asio::co_spawn(ioc, talk.run(), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::printf("FAILED: %s\n", ex.what());
            } catch (...) {
                std::printf("FAILED: unknown exception\n");
            }
        } else if (ok) {
            std::printf("chat: %d checks passed\n", talk.checks_passed());
            status = 0;
        }
        station.close();
    });
    ioc.run();
    return status;
}

} // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "--free-ports") {
        unsigned n = 0;
        auto r = std::from_chars(args[1].data(), args[1].data() + args[1].size(), n);
        if (r.ec != std::errc{} || r.ptr != args[1].data() + args[1].size() || n == 0 || n > 64) {
            std::fprintf(stderr, "%s: --free-ports: expected a number in 1..64\n", argv[0]);
            print_usage(argv[0]);
            return 2;
        }
        return print_free_ports(n);
    }

    std::string config, env = "development";
    for (std::size_t i = 0; i < args.size(); i += 2) {
        if (i + 1 >= args.size() || (args[i] != "--config" && args[i] != "--env")) {
            print_usage(argv[0]);
            return 2;
        }
        (args[i] == "--config" ? config : env) = std::string(args[i + 1]);
    }
    if (config.empty()) {
        print_usage(argv[0]);
        return 2;
    }
    try {
        return play(mailroom::load_servers(config, env));
    } catch (const mailroom::config_error& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        print_usage(argv[0]);
        return 2;
    }
}
