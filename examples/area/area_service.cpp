// area_service: the remote of the "area" server type, and the route to it.

#include "area_service.hpp"

#include <stdexcept>

namespace world {

position area_service::enter(std::string uid)
{
    return players_[uid].at;
}

position area_service::move(std::string uid, position to)
{
    auto it = players_.find(uid);
    if (it == players_.end())
        throw std::runtime_error(uid + " has not entered this area"); // caller: remote_error
    return it->second.at = to;
}

std::vector<player> area_service::who() const
{
    std::vector<player> out;
    for (const auto& [uid, p] : players_)
        out.push_back({uid, p.at, p.said});
    return out;
}

void area_service::shout(std::string uid, std::string text)
{
    if (auto it = players_.find(uid); it != players_.end())
        it->second.said = std::move(text);
}

std::string route_by_area(const mailroom::route_param& param,
                          const mailroom::protocol::method_path& call,
                          const mailroom::server_table& servers)
{
    auto list = servers.of_type(call.server_type); // ordered by id
    const session* s = param.get<session>();
    if (list.empty() || !s)
        return {}; // -> error::no_target_server
    return list[mailroom::crc32(s->area) % list.size()]->id;
}

} // namespace world
