#include "connector_service.hpp"

#include "session.hpp"

#include <mailroom/client/route_param.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <system_error>
#include <utility>

namespace chat {

connector_service::connector_service(
    chat_rpc& rpc, std::string self_id,
    std::function<std::vector<mailroom::server_info>()> cluster)
    : rpc_(rpc), self_id_(std::move(self_id)), cluster_(std::move(cluster))
{
}

void connector_service::enter(std::string uid, std::string channel,
                              mailroom::reply_callback<channel_state> reply)
{
    // The route function reads the channel from the session while the call is made, so a
    // local session is enough.
    const session s{.uid = uid, .channel = channel, .frontend_id = self_id_};
    rpc_.chat.chatRemote.add(mailroom::route_param::of(s), uid, self_id_, channel,
                             [reply](std::error_code ec, channel_state state) {
                                 if (ec)
                                     reply.fail(ec, "chatRemote.add: " + ec.message());
                                 else
                                     reply(state);
                             });
}

void connector_service::leave(std::string uid, std::string channel,
                              mailroom::reply_callback<void> reply)
{
    const session s{.uid = uid, .channel = channel, .frontend_id = self_id_};
    rpc_.chat.chatRemote.leave(mailroom::route_param::of(s), uid, self_id_, channel,
                               [reply](std::error_code ec) {
                                   if (ec)
                                       reply.fail(ec, "chatRemote.leave: " + ec.message());
                                   else
                                       reply();
                               });
}

boost::asio::awaitable<channel_state> connector_service::members(std::string channel)
{
    const session s{.uid = {}, .channel = channel, .frontend_id = self_id_};
    auto [ec, state] = co_await rpc_.chat.chatRemote.get(mailroom::route_param::of(s), channel,
                                                         boost::asio::use_awaitable);
    // A coroutine handler fails by throwing; the caller sees remote_error with this text.
    if (ec)
        throw std::system_error(ec, "chatRemote.get");
    co_return state;
}

std::vector<std::string> connector_service::chat_servers()
{
    std::vector<std::string> ids;
    for (const auto& s : cluster_())
        if (s.server_type == "chat")
            ids.push_back(s.id);
    std::sort(ids.begin(), ids.end());
    return ids;
}

} // namespace chat
