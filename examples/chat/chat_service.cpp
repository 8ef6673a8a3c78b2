#include "chat_service.hpp"

#include <algorithm>
#include <utility>

namespace chat {

chat_service::chat_service(std::string self_id) : self_id_(std::move(self_id)) {}

channel_state chat_service::add(std::string uid, std::string sid, std::string channel)
{
    auto& members = channels_[channel];
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const member& m) { return m.uid == uid; });
    if (it == members.end())
        members.push_back({std::move(uid), std::move(sid)});
    else
        it->sid = std::move(sid);
    return state_of(channel);
}

void chat_service::leave(std::string uid, std::string sid, std::string channel)
{
    auto found = channels_.find(channel);
    if (found == channels_.end())
        return;
    auto& members = found->second;
    std::erase_if(members, [&](const member& m) { return m.uid == uid && m.sid == sid; });
    if (members.empty())
        channels_.erase(found);
}

channel_state chat_service::get(std::string channel)
{
    return state_of(channel);
}

channel_state chat_service::state_of(const std::string& channel) const
{
    channel_state state{.chat_server = self_id_};
    if (auto found = channels_.find(channel); found != channels_.end())
        for (const auto& m : found->second)
            state.members.push_back(m.uid);
    return state;
}

} // namespace chat
