// The chat example's session: what a connector knows about the user a call is made for.
// It is the route parameter of every call to a chat server (`route_param::of(session)`),
// as pomelo passes its session to the route function.

#pragma once

#include <string>

namespace chat {

/// A user's session on a connector, reduced to what routing and the chat server need.
struct session {
    /// The user's id.
    std::string uid;
    /// The channel the call is about; the chat route hashes it.
    std::string channel;
    /// The id of the connector (frontend server) that holds the user's connection.
    std::string frontend_id;
};

} // namespace chat
