// Built against an installed mailroom with the CMakeLists.txt that README.md shows (the test
// copies it from there): one call over loopback TCP and one over WebSocket must succeed.
#include <mailroom/mailroom.hpp> // the core: App, remotes, stubs, routes, filters, errors
#include <mailroom/tcp.hpp>      // the TCP transport      (mailroom::tcp)
#include <mailroom/ws.hpp>       // the WebSocket transport (mailroom::ws)

#include <cstdio>
#include <tuple>

int main()
{
    boost::asio::io_context ioc;
    mailroom::server server(ioc.get_executor());
    server.get_dispatcher().add("math", "add", [](int a, int b) { return a + b; });
    auto tcp = mailroom::tcp::make_acceptor(ioc.get_executor());
    auto ws = mailroom::ws::make_acceptor(ioc.get_executor());
    if (server.listen(tcp) || server.listen(ws))
        return 1;

    mailroom::mail_station station(ioc.get_executor());
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_transport("ws", mailroom::ws::make_mailbox_factory());
    station.add_server({.id = "m-1", .server_type = "m", .host = "127.0.0.1", .port = tcp->port()});
    station.add_server({.id = "m-2", .server_type = "w", .host = "127.0.0.1", .port = ws->port(),
                        .transport = "ws"});
    mailroom::router router;
    mailroom::proxy rpc(station, router);

    int result = 0;
    int done = 0;
    auto finish = [&](std::error_code ec, int sum) {
        result += ec ? -100 : sum;
        if (++done == 2) {
            station.close();
            server.stop();
        }
    };
    rpc.async_call<int>({.server_type = "m", .service = "math", .method = "add"}, {},
                        std::tuple{2, 3}, finish);
    rpc.async_call<int>({.server_type = "w", .service = "math", .method = "add"}, {},
                        std::tuple{4, 5}, finish);
    ioc.run();
    std::printf("consumer: 2 + 3 + 4 + 5 = %d\n", result);
    return result == 14 ? 0 : 1;
}
