// custom_types: structs of your own as the arguments and results of a remote.
//
// One process hosts an "area" server and calls it over loopback TCP through typed stubs:
// a player enters, moves to a `position`, and the area lists every `player` with where it
// stands. Prints the answers; exits 0 if they are right.
//
// usage: custom_types

#include <mailroom/mailroom.hpp>
#include <mailroom/tcp.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;

namespace area {

// A struct travels as a msgpack map of its fields: {"x": 3, "y": 4}. Fields are matched by
// name, so a peer built with more or fewer fields still decodes the rest (missing ones keep
// their defaults).
struct position {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE_MAP(x, y)
};

// Types nest: a struct of structs, in a vector, travels the same way.
struct player {
    std::string uid;
    position at;
    MSGPACK_DEFINE_MAP(uid, at)
};

MAILROOM_REMOTE(area_remote, areaRemote,
    (enter, position(std::string uid))
    (move, position(std::string uid, position to))
    (who, std::vector<player>()));

class area_service {
public:
    position enter(std::string uid) { return players_[uid]; }

    position move(std::string uid, position to)
    {
        if (!players_.contains(uid))
            throw std::runtime_error(uid + " is not in this area"); // the caller: remote_error
        return players_[uid] = to;
    }

    std::vector<player> who() const
    {
        std::vector<player> out;
        for (const auto& [uid, at] : players_)
            out.push_back({uid, at});
        return out;
    }

private:
    std::map<std::string, position> players_;
};

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"area", area_remote> area{*this};
};

} // namespace area

int main(int argc, char**)
{
    if (argc > 1) {
        std::fprintf(stderr, "usage: custom_types\n");
        return 2;
    }
    asio::io_context ioc;

    mailroom::server server(ioc.get_executor(), {.server_id = "area-1"});
    area::area_service service;
    area::area_remote::bind(server.get_dispatcher(), service);
    auto acceptor = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    if (server.listen(acceptor))
        return 1;

    mailroom::mail_station station(ioc.get_executor(), {.client_id = "connector-1"});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "area-1", .server_type = "area", .host = "127.0.0.1",
                        .port = acceptor->port()});
    mailroom::router router;
    mailroom::proxy proxy(station, router);
    area::cluster_rpc rpc(proxy);

    int status = 1;
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        auto& a = rpc.area.areaRemote;
        auto [ec1, start] = co_await a.enter("uid-7", "uid-7", asio::use_awaitable);
        auto [ec2, now] = co_await a.move("uid-7", "uid-7", {3, 4}, asio::use_awaitable);
        auto [ec3, players] = co_await a.who("uid-7", asio::use_awaitable);
        auto [ec4, ghost] = co_await a.move("uid-8", "uid-8", {1, 1}, asio::use_awaitable);
        std::printf("entered at (%d, %d), moved to (%d, %d), %zu player(s); a stranger's move: %s\n",
                    start.x, start.y, now.x, now.y, players.size(), ec4.message().c_str());
        bool right = !ec1 && !ec2 && !ec3 && now.x == 3 && now.y == 4 && players.size() == 1 &&
                     players[0].uid == "uid-7" && players[0].at.y == 4 &&
                     ec4 == mailroom::error::remote_error;
        status = right ? 0 : 1;
        station.close();
        server.stop();
    }, asio::detached);
    ioc.run();
    return status;
}
