// The chat example's chat server side: the implementation of chatRemote.

#pragma once

#include "chat_protocol.hpp"

#include <map>
#include <string>
#include <vector>

namespace chat {

/** chatRemote: the channels this chat server holds, channel -> members.

    Like pomelo's channel service, a member is a user id plus the id of the frontend server
    (`sid`) that holds the user's session; a user leaves with the same pair. A channel exists
    while it has members.

    @par Thread safety
    None needed: the App runs the handlers of one served remote on a strand of its own
    (`app.serve<chat_remote>(service)`), so they never run concurrently.
*/
class chat_service {
public:
    /// `self_id` is this chat server's id, reported in every @ref channel_state.
    explicit chat_service(std::string self_id);

    /// Adds `uid` (connected through `sid`) to `channel`; returns the channel afterwards.
    /// Adding a member again updates its `sid`.
    channel_state add(std::string uid, std::string sid, std::string channel);

    /// Removes `uid` (connected through `sid`) from `channel`; nothing if it is not there.
    void leave(std::string uid, std::string sid, std::string channel);

    /// The channel's members; none if no one is in it.
    channel_state get(std::string channel);

private:
    struct member {
        std::string uid;
        std::string sid;
    };

    channel_state state_of(const std::string& channel) const;

    std::string self_id_;
    std::map<std::string, std::vector<member>, std::less<>> channels_;
};

} // namespace chat
