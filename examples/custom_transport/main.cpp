// custom_transport: a transport that is not part of mailroom, used like one.
//
// uds_transport.hpp/.cpp is a Unix-domain-socket transport written against mailroom's public
// headers only (docs/writing-a-transport.md explains it line by line). This program registers
// it under the name "unix", serves a remote on a socket file and calls it through the
// ordinary proxy -> router -> mail station path. Prints the answers; exits 0 on success.
//
// usage: custom_transport [socket-path]   (default: a fresh path in the temp directory)

#include "uds_transport.hpp"

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <tuple>

#include <unistd.h>

namespace asio = boost::asio;

int main(int argc, char** argv)
{
    if (argc > 2) {
        std::fprintf(stderr, "usage: %s [socket-path]\n", argv[0]);
        return 2;
    }
    const std::string path = argc == 2 ? argv[1]
                                       : (std::filesystem::temp_directory_path() /
                                          ("mailroom-uds-" + std::to_string(::getpid()) + ".sock"))
                                             .string();
    asio::io_context ioc;

    // Server side: an "area" server reachable through a socket file.
    mailroom::server server(ioc.get_executor(), {.server_id = "area-1"});
    server.get_dispatcher().add("areaRemote", "enter",
                                [](std::string who, int x, int y) {
                                    return who + " entered at (" + std::to_string(x) + ", " +
                                           std::to_string(y) + ")";
                                });
    if (auto ec = server.listen(uds::make_acceptor(ioc.get_executor(), {.path = path}))) {
        std::fprintf(stderr, "cannot listen on %s: %s\n", path.c_str(), ec.message().c_str());
        return 1;
    }

    // Client side: the transport is registered under its own name, and the server entry
    // names it, exactly as servers.json would ("transport": "unix", "path": ...).
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "connector-1"});
    station.add_transport("unix", uds::make_mailbox_factory());
    station.add_server({.id = "area-1", .server_type = "area", .host = "localhost",
                        .transport = "unix", .options = {{"path", path}}});
    mailroom::router router;
    mailroom::proxy rpc(station, router);

    int status = 1;
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        int ok = 0;
        for (int i = 0; i < 3; ++i) {
            auto [ec, text] = co_await rpc.async_call<std::string>(
                {.server_type = "area", .service = "areaRemote", .method = "enter"}, "user-42",
                std::tuple{std::string("player") + std::to_string(i), 10 * i, 20 * i},
                asio::use_awaitable);
            std::printf("%s\n", ec ? ec.message().c_str() : text.c_str());
            ok += !ec;
        }
        status = ok == 3 ? 0 : 1;
        station.close();
        server.stop();
    }, asio::detached);
    ioc.run();
    return status;
}
