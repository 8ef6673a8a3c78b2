// area: a small game cluster of two server types over TCP, three processes.
//
// "area" servers keep the players of the areas routed to them (enter, move, who, and a
// shout notify), with positions and players as structs of their own. The "connector" calls
// them through typed stubs, routes each session to the server of its area with a custom
// route, and guards calls with a client filter. run_cluster.sh starts two area servers and
// a connector from one servers.json; the connector plays a scripted session and exits.
//
// usage: area-node --config servers.json --server-id ID [--play]
//        area-node --free-ports N

#include "area_service.hpp"
#include "play.hpp"

#include <mailroom/mailroom.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <string_view>
#include <vector>

namespace asio = boost::asio;

namespace {

/// Prints `n` distinct free loopback ports, one a line (for run_cluster.sh).
int print_free_ports(int n)
{
    asio::io_context ioc;
    std::vector<asio::ip::tcp::acceptor> acceptors;
    for (int i = 0; i < n; ++i)
        acceptors.emplace_back(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    for (const auto& a : acceptors)
        std::printf("%u\n", static_cast<unsigned>(a.local_endpoint().port()));
    return 0;
}

int usage(const char* argv0)
{
    std::fprintf(stderr,
                 "usage: %s --config servers.json --server-id ID [--play]\n"
                 "       %s --free-ports N\n",
                 argv0, argv0);
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 3 && std::string_view(argv[1]) == "--free-ports")
        return print_free_ports(std::atoi(argv[2]));
    // --play is ours; the App reads the rest.
    bool play = false;
    std::vector<const char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--play")
            play = true;
        else
            args.push_back(argv[i]);
    }
    try {
        mailroom::app<world::world_rpc> app(
            mailroom::app_options::from_args(static_cast<int>(args.size()), args.data()));
        app.add_transport("tcp", mailroom::tcp::make_transport());
        app.routes().set("area", world::route_by_area);
        auto gate = std::make_shared<world::gatekeeper>();
        app.client_filters().add(gate);

        world::area_service area;
        if (app.self().server_type == "area")
            app.serve<world::area_remote>(area);
        if (!play)
            return app.run(); // until SIGTERM

        app.start();
        auto result = asio::co_spawn(app.get_executor(), world::play(app, *gate), asio::use_future);
        int status = result.get();
        app.stop();
        app.wait();
        return status;
    } catch (const mailroom::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return usage(argv[0]);
    }
}
