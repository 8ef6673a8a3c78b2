#pragma once

// The contracts of the area example, shared by every process: the types that travel, the
// remotes, the typed RPC surface and the route that sends a player's calls to the server of
// the area the player is in.

#include <mailroom/mailroom.hpp>

#include <string>
#include <vector>

namespace world {

/// A point on the map; travels as {"x": .., "y": ..}.
struct position {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE_MAP(x, y)
};

/// A player as an area server sees it.
struct player {
    std::string uid;
    position at;
    /// What the player last shouted (a notify), empty if nothing.
    std::string said;
    MSGPACK_DEFINE_MAP(uid, at, said)
};

/// The route parameter of area calls: never sent, read by `route_by_area`.
struct session {
    std::string uid;
    std::string area;
};

MAILROOM_REMOTE(area_remote, areaRemote,
    (enter, position(std::string uid))
    (move, position(std::string uid, position to))
    (who, std::vector<world::player>())
    (shout, mailroom::no_reply(std::string uid, std::string text)));

struct world_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"area", area_remote> area{*this};
};

/// The custom route: every call of a session goes to the area server of its area, picked
/// by a hash of the area's name over the area servers ordered by id.
std::string route_by_area(const mailroom::route_param& param,
                          const mailroom::protocol::method_path& call,
                          const mailroom::server_table& servers);

} // namespace world
