// The chat example's connector side: the implementation of entryRemote, which forwards each
// request to the chat server that holds the channel.

#pragma once

#include "chat_protocol.hpp"

#include <mailroom/server/reply_callback.hpp>
#include <mailroom/server_info.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <vector>

namespace chat {

/** entryRemote: what a user's client asks its connector (pomelo's entry handler). Every
    method calls the chat server of the channel through the typed stubs
    (`rpc.chat.chatRemote`), routed by the user's @ref session, and answers when that call
    completes. A failed chat call fails the request with the same error code.

    `enter` and `leave` show the reply-callback handler form, `members` the coroutine form.

    @par Thread safety
    Stateless apart from the references it holds; the stubs may be called from any thread.
*/
class connector_service {
public:
    /// `rpc` must outlive the service; `self_id` is this connector's id (the users' `sid`);
    /// `cluster` tells the servers this connector knows now (the App's table).
    connector_service(chat_rpc& rpc, std::string self_id,
                      std::function<std::vector<mailroom::server_info>()> cluster);

    /// Joins `uid` to `channel` on its chat server; answers the channel afterwards.
    void enter(std::string uid, std::string channel,
               mailroom::reply_callback<channel_state> reply);

    /// Removes `uid` from `channel` on its chat server.
    void leave(std::string uid, std::string channel, mailroom::reply_callback<void> reply);

    /// The members of `channel`, asked of its chat server.
    boost::asio::awaitable<channel_state> members(std::string channel);

    /// The ids of the chat servers this connector routes to now, ordered: what it learnt
    /// from servers.json and the registry. The driver waits until every connector agrees.
    std::vector<std::string> chat_servers();

private:
    chat_rpc& rpc_;
    std::string self_id_;
    std::function<std::vector<mailroom::server_info>()> cluster_;
};

} // namespace chat
