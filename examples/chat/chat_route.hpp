// The chat example's route function for server type "chat": every call about a channel
// goes to the same chat server, whichever connector makes it.

#pragma once

#include <mailroom/client/router.hpp>

namespace chat {

/** Routes a call to the chat server of its channel: crc32(channel) modulo the number of chat
    servers, over the chat servers ordered by id. The channel is read from a @ref session
    route parameter (`route_param::of(session)`), or else from a string key (the channel
    name). Without either, or without chat servers, no server fits (`no_target_server`).

    Register it with `app.routes().set("chat", chat::chat_route())`.
*/
mailroom::route_function chat_route();

} // namespace chat
