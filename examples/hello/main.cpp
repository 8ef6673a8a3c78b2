// hello: the smallest complete mailroom program, the one the README shows.
//
// One process hosts a "greeter" server and calls it through the whole call path over
// loopback TCP, from a coroutine. Prints the answer; exits 0 on success.
//
// usage: hello

#include <mailroom/mailroom.hpp> // the core: App, remotes, stubs, routes, filters, errors
#include <mailroom/tcp.hpp>      // the TCP transport (CMake target mailroom::tcp)

#include <cstdio>
#include <string>
#include <tuple>

namespace asio = boost::asio;

// [readme]
int main()
{
    asio::io_context ioc;

    // Server side: bind a remote method, listen on a free port.
    mailroom::server server(ioc.get_executor(), {.server_id = "greeter-1"});
    server.get_dispatcher().add("greeterRemote", "hello",
                                [](std::string name) { return "hello, " + name; });
    auto acceptor = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    if (server.listen(acceptor))
        return 1;

    // Client side: a mail station that knows the server, a router, a proxy.
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "connector-1"});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "greeter-1", .server_type = "greeter", .host = "127.0.0.1",
                        .port = acceptor->port()});
    mailroom::router router;
    mailroom::proxy rpc(station, router);

    int status = 1;
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        // route parameter "user-42" -> router -> mail station -> TCP mail box -> server
        auto [ec, text] = co_await rpc.async_call<std::string>(
            {.server_type = "greeter", .service = "greeterRemote", .method = "hello"},
            "user-42", std::tuple{std::string("world")}, asio::use_awaitable);
        std::printf("%s\n", ec ? ec.message().c_str() : text.c_str());
        status = ec ? 1 : 0;
        station.close();
        server.stop();
    }, asio::detached);
    ioc.run();
    return status;
}
// [readme]
