#include "conversation.hpp"

#include <mailroom/app/sys.hpp>
#include <mailroom/crc32.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <tuple>
#include <utility>

namespace chat {

namespace asio = boost::asio;

conversation::conversation(chat_rpc& rpc, const std::vector<mailroom::server_info>& cluster)
    : rpc_(rpc), cluster_(cluster)
{
    for (const auto& s : cluster_) {
        if (s.server_type == "connector")
            connectors_.push_back(s.id);
        else if (s.server_type == "chat")
            chat_servers_.push_back(s.id);
    }
    std::sort(connectors_.begin(), connectors_.end());
    std::sort(chat_servers_.begin(), chat_servers_.end());
}

asio::awaitable<bool> conversation::run()
{
    if (!check(!connectors_.empty() && !chat_servers_.empty(),
               "the config needs at least one \"connector\" and one \"chat\" server"))
        co_return false;
    if (!co_await wait_until_up())
        co_return false;

    // Users connect to the connectors in turn, as a load balancer in front would spread them.
    const std::vector<std::string> uids{"alice", "bob", "carol", "dave", "erin", "frank"};
    for (std::size_t i = 0; i < uids.size(); ++i)
        users_[uids[i]] = connectors_[i % connectors_.size()];
    // With two chat servers, #forge is held by the first and #tavern and #market by the
    // second.
    const std::vector<std::string> channels{"tavern", "forge", "market"};

    fmt::print("-- users enter channels\n");
    const std::vector<std::pair<std::string, std::string>> entries{
        {"alice", "tavern"}, {"bob", "tavern"},   {"carol", "forge"}, {"dave", "forge"},
        {"erin", "market"},  {"frank", "market"}, {"alice", "market"}, {"dave", "tavern"}};
    for (const auto& [uid, channel] : entries)
        if (!co_await enter(uid, channel))
            co_return false;

    fmt::print("-- every connector lists every channel\n");
    for (const auto& channel : channels)
        for (const auto& connector : connectors_)
            if (!co_await list(connector, channel))
                co_return false;

    fmt::print("-- some users leave\n");
    const std::vector<std::pair<std::string, std::string>> exits{
        {"bob", "tavern"}, {"carol", "forge"}, {"alice", "market"}, {"dave", "forge"}};
    for (const auto& [uid, channel] : exits)
        if (!co_await leave(uid, channel))
            co_return false;

    fmt::print("-- every connector lists every channel again\n");
    for (const auto& channel : channels)
        for (const auto& connector : connectors_)
            if (!co_await list(connector, channel))
                co_return false;

    // Everyone left leaves, so the cluster ends as it started and the driver can run again.
    fmt::print("-- the others leave\n");
    for (const auto& channel : channels) {
        const auto remaining = members_[channel];
        for (const auto& uid : remaining)
            if (!co_await leave(uid, channel))
                co_return false;
        if (!co_await list(connectors_.front(), channel))
            co_return false;
    }
    co_return true;
}

asio::awaitable<bool> conversation::wait_until_up()
{
    // A call to a server that is not listening yet waits in the station, which retries the
    // connect until its connect timeout: no sleeps needed.
    for (const auto& s : cluster_) {
        auto [ec, status] = co_await rpc_.dynamic().async_call_to<mailroom::health_status>(
            s.id,
            {.ns = "sys", .server_type = s.server_type, .service = "health", .method = "ping"},
            std::tuple{}, asio::use_awaitable);
        if (!check(!ec, fmt::format("{} ({}) did not answer sys.health.ping: {}", s.id,
                                    s.transport, ec.message())))
            co_return false;
        if (!check(status.server_id == s.id && status.server_type == s.server_type,
                   fmt::format("{} answered as {} ({})", s.id, status.server_id,
                               status.server_type)))
            co_return false;
        if (s.transport == "redis") // addressed by id alone: no host or port of its own
            fmt::print("{} ({}) is up, by id over redis\n", s.id, s.server_type);
        else
            fmt::print("{} ({}) is up on {}:{}\n", s.id, s.server_type, s.host, s.port);
    }
    co_return co_await wait_until_agreed();
}

asio::awaitable<bool> conversation::wait_until_agreed()
{
    // With a registry, members come and go: every connector must route over the chat servers
    // of this config before a step can tell which one holds a channel. A join reaches them
    // within milliseconds, a killed server's lease runs out within seconds.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (const auto& connector : connectors_) {
        std::vector<std::string> seen;
        for (;;) {
            auto [ec, ids] = co_await rpc_.connector.entryRemote.to_server(connector)
                                 .chat_servers(asio::use_awaitable);
            // Waiting is not a check: only a failure counts (as one).
            if (ec)
                co_return check(false, fmt::format("{}: entryRemote.chat_servers: {}",
                                                   connector, ec.message()));
            if (ids == chat_servers_)
                break;
            if (std::chrono::steady_clock::now() >= until)
                co_return check(false, fmt::format("{} still routes over [{}], not [{}]",
                                                   connector, fmt::join(ids, ", "),
                                                   fmt::join(chat_servers_, ", ")));
            if (ids != seen)
                fmt::print("{} routes over [{}]; waiting for [{}]\n", connector,
                           fmt::join(ids, ", "), fmt::join(chat_servers_, ", "));
            seen = std::move(ids);
            timer.expires_after(std::chrono::milliseconds(50));
            co_await timer.async_wait(asio::use_awaitable);
        }
    }
    fmt::print("every connector routes over [{}]\n", fmt::join(chat_servers_, ", "));
    co_return true;
}

std::string conversation::remote_detail() const
{
    const auto& m = diag_.remote_message();
    return m.empty() ? std::string() : " (" + m + ")";
}

asio::awaitable<bool> conversation::enter(const std::string& uid, const std::string& channel)
{
    const auto& connector = connector_of(uid);
    auto [ec, state] = co_await rpc_.connector.entryRemote.to_server(connector).enter(
        uid, channel, diag_, asio::use_awaitable);
    const auto step = fmt::format("{}@{} enters #{}", uid, connector, channel);
    if (!check(!ec, fmt::format("{}: {}{}", step, ec.message(), remote_detail())))
        co_return false;
    auto& members = members_[channel];
    if (std::find(members.begin(), members.end(), uid) == members.end())
        members.push_back(uid);
    co_return check_state(step, channel, state);
}

asio::awaitable<bool> conversation::leave(const std::string& uid, const std::string& channel)
{
    const auto& connector = connector_of(uid);
    // A void method yields just the error code.
    std::error_code ec = co_await rpc_.connector.entryRemote.to_server(connector).leave(
        uid, channel, diag_, asio::use_awaitable);
    const auto step = fmt::format("{}@{} leaves #{}", uid, connector, channel);
    if (!check(!ec, fmt::format("{}: {}{}", step, ec.message(), remote_detail())))
        co_return false;
    std::erase(members_[channel], uid);
    fmt::print("{}\n", step);
    co_return true;
}

asio::awaitable<bool> conversation::list(const std::string& connector, const std::string& channel)
{
    auto [ec, state] = co_await rpc_.connector.entryRemote.to_server(connector).members(
        channel, diag_, asio::use_awaitable);
    const auto step = fmt::format("{} lists #{}", connector, channel);
    if (!check(!ec, fmt::format("{}: {}{}", step, ec.message(), remote_detail())))
        co_return false;
    co_return check_state(step, channel, state);
}

bool conversation::check_state(const std::string& step, const std::string& channel,
                               const channel_state& state)
{
    const auto line = fmt::format("{} -> {} holds #{}: [{}]", step, state.chat_server, channel,
                                  fmt::join(state.members, ", "));
    const auto expected = expected_holder(channel);
    if (!check(state.chat_server == expected,
               fmt::format("{}\n  expected {} to hold #{} (crc32 % {})", line, expected, channel,
                           chat_servers_.size())))
        return false;
    const auto& first = holders_.try_emplace(channel, state.chat_server).first->second;
    if (!check(state.chat_server == first,
               fmt::format("{}\n  #{} was held by {} before", line, channel, first)))
        return false;
    const auto& members = members_[channel];
    if (!check(state.members == members,
               fmt::format("{}\n  expected members [{}]", line, fmt::join(members, ", "))))
        return false;
    fmt::print("{}\n", line);
    return true;
}

bool conversation::check(bool ok, const std::string& failure)
{
    if (!ok)
        fmt::print("FAILED: {}\n", failure);
    else
        ++passed_;
    return ok;
}

std::string conversation::expected_holder(const std::string& channel) const
{
    return chat_servers_[mailroom::crc32(channel) % chat_servers_.size()];
}

const std::string& conversation::connector_of(const std::string& uid) const
{
    return users_.at(uid);
}

} // namespace chat
