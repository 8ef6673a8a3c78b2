// echo: a mailroom server and a client in one process, talking over loopback TCP.
//
// The server binds an "echo" remote with two methods; the client reaches it through the
// whole call path: proxy -> router -> mail station -> TCP mail box -> acceptor ->
// dispatcher -> remote. It prints every call it makes and exits 0 if all succeeded.
//
// usage: echo [calls]     (default 5)

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

namespace asio = boost::asio;

namespace {

// The client side: calls the remote `calls` times and reports what came back.
asio::awaitable<int> run_client(mailroom::proxy& rpc, int calls)
{
    const mailroom::protocol::method_path upper{.server_type = "echo", .service = "echoRemote",
                                                .method = "upper"};
    const mailroom::protocol::method_path add{.server_type = "echo", .service = "echoRemote",
                                              .method = "add"};
    int failures = 0;
    for (int i = 0; i < calls; ++i) {
        std::string text = "hello #" + std::to_string(i);
        // The route parameter ("user-<i>") picks the server; there is only one here.
        // co_await yields (error_code, result): completions never throw.
        auto [ec1, back] = co_await rpc.async_call<std::string>(
            upper, "user-" + std::to_string(i), std::tuple{text}, asio::use_awaitable);
        auto [ec2, sum] = co_await rpc.async_call<int>(add, "user-" + std::to_string(i),
                                                       std::tuple{i, 1000}, asio::use_awaitable);
        if (ec1 || ec2) {
            std::printf("call failed: %s\n", (ec1 ? ec1 : ec2).message().c_str());
            ++failures;
            continue;
        }
        std::printf("echoRemote.upper(\"%s\") -> \"%s\"   echoRemote.add(%d, 1000) -> %d\n",
                    text.c_str(), back.c_str(), i, sum);
        failures += (sum != i + 1000);
    }
    co_return failures;
}

} // namespace

int main(int argc, char** argv)
{
    int calls = 5;
    if (argc > 2 || (argc == 2 && std::from_chars(argv[1], argv[1] + std::string_view(argv[1]).size(),
                                                  calls).ec != std::errc{})) {
        std::fprintf(stderr, "usage: %s [calls]\n", argv[0]);
        return 2;
    }

    asio::io_context ioc;

    // Server: a dispatcher with the remote's methods, behind a TCP acceptor on a free port.
    mailroom::server server(ioc.get_executor(), {.server_id = "echo-1"});
    server.get_dispatcher().add("echoRemote", "upper", [](std::string s) {
        for (auto& c : s)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
    });
    server.get_dispatcher().add("echoRemote", "add", [](int a, int b) { return a + b; });
    auto acceptor = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    if (auto ec = server.listen(acceptor)) {
        std::fprintf(stderr, "listen failed: %s\n", ec.message().c_str());
        return 1;
    }

    // Client: a station that knows the server, a router, and a proxy on top.
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "connector-1"});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                        .port = acceptor->port()});
    mailroom::router router; // routes by CRC-32 of the route parameter, as pomelo does
    mailroom::proxy rpc(station, router);

    int failures = -1;
    asio::co_spawn(ioc, run_client(rpc, calls), [&](std::exception_ptr e, int f) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "call failed: %s\n", ex.what());
            }
        } else {
            failures = f;
        }
        station.close();
        server.stop();
    });

    std::thread io([&] { ioc.run(); }); // the I/O side runs on threads you give it
    ioc.run();
    io.join();
    std::printf("%d calls, %s\n", 2 * calls, failures == 0 ? "all succeeded" : "FAILED");
    return failures == 0 ? 0 : 1;
}
