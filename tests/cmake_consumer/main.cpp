// Built against an installed mailroom: one call over loopback TCP must succeed.
#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <tuple>

int main()
{
    boost::asio::io_context ioc;
    mailroom::server server(ioc.get_executor());
    server.get_dispatcher().add("math", "add", [](int a, int b) { return a + b; });
    auto acceptor = mailroom::tcp::make_acceptor(ioc.get_executor());
    if (server.listen(acceptor))
        return 1;

    mailroom::mail_station station(ioc.get_executor());
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "m-1", .server_type = "m", .host = "127.0.0.1", .port = acceptor->port()});
    mailroom::router router;
    mailroom::proxy rpc(station, router);

    int result = 0;
    rpc.async_call<int>({.server_type = "m", .service = "math", .method = "add"}, {},
                        std::tuple{2, 3}, [&](std::error_code ec, int sum) {
                            result = ec ? -1 : sum;
                            station.close();
                            server.stop();
                        });
    ioc.run();
    std::printf("consumer: 2 + 3 = %d\n", result);
    return result == 5 ? 0 : 1;
}
