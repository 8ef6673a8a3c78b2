// The chat example's contracts, shared by every process of the cluster (chat servers,
// connectors and the driver): what a chat server offers (chatRemote), what a connector
// offers in place of pomelo's client-facing handler (entryRemote), and the typed RPC
// surface `chat_rpc` an App or a plain proxy calls them through.

#pragma once

#include <mailroom/client/stub.hpp>
#include <mailroom/remote.hpp>

#include <msgpack.hpp>

#include <string>
#include <vector>

namespace chat {

/// A channel as its chat server sees it: who holds it and who is in it, in joining order.
struct channel_state {
    /// The id of the chat server that holds the channel.
    std::string chat_server;
    /// The user ids in the channel, in the order they joined.
    std::vector<std::string> members;
    MSGPACK_DEFINE_MAP(chat_server, members)
};

/** The chat server's remote (pomelo's chatRemote): a user joins with the id of the frontend
    server (`sid`) that holds its session, leaves, and a channel's members are listed.
*/
MAILROOM_REMOTE(chat_remote, chatRemote,
                (add, channel_state(std::string uid, std::string sid, std::string channel))
                (leave, void(std::string uid, std::string sid, std::string channel))
                (get, channel_state(std::string channel)));

/** The connector's remote, standing in for pomelo's client-facing entry handler: what a
    user's client asks its connector, which forwards it to the chat server of the channel.
*/
MAILROOM_REMOTE(entry_remote, entryRemote,
                (enter, channel_state(std::string uid, std::string channel))
                (leave, void(std::string uid, std::string channel))
                (members, channel_state(std::string channel))
                (chat_servers, std::vector<std::string>()));

/// The typed RPC surface: `rpc.chat.chatRemote.add(...)`, `rpc.connector.entryRemote.enter(...)`.
struct chat_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"chat", chat_remote> chat{*this};
    mailroom::server_type<"connector", entry_remote> connector{*this};
};

} // namespace chat
