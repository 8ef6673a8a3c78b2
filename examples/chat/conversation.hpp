// The chat example's scripted conversation, as chat-driver plays it against a running cluster.

#pragma once

#include "chat_protocol.hpp"

#include <mailroom/client/diagnostics.hpp>

#include <mailroom/server_info.hpp>

#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>
#include <vector>

namespace chat {

/** Plays a conversation through the connectors of a cluster and checks every answer.

    First it waits until every server answers `sys.health.ping` (calls queue while a server is
    not listening yet, so this is the start-up synchronisation), then until every connector
    routes over exactly the config's chat servers (`entryRemote.chat_servers`: with a
    registry, a server that joined or died reaches the connectors' tables a little later). Then users enter channels
    through both connectors, list them, leave and list again, and finally everyone leaves
    (so the cluster ends empty and the conversation can be played again), each step printed
    as one line. After every step it checks that:
    - the chat server holding the channel is crc32(channel) modulo the number of chat
      servers, over the chat servers ordered by id (computed here, independently of the
      servers' route function);
    - a channel is always held by the same chat server, whichever connector is asked;
    - the members are exactly those of the script so far, in joining order.
    It stops at the first failure, which it prints.

    @par Thread safety
    Run one `run()` at a time, on one thread.
*/
class conversation {
public:
    /// `rpc` (built on the driver's proxy) must outlive the conversation; `cluster` is the
    /// servers of the config, which must include a connector and a chat server.
    conversation(chat_rpc& rpc, const std::vector<mailroom::server_info>& cluster);

    /// Plays the conversation; true if every check passed.
    boost::asio::awaitable<bool> run();

    /// The checks that passed so far.
    int checks_passed() const noexcept { return passed_; }

private:
    boost::asio::awaitable<bool> wait_until_up();
    /// Waits until every connector routes over exactly the chat servers of the config.
    boost::asio::awaitable<bool> wait_until_agreed();
    boost::asio::awaitable<bool> enter(const std::string& uid, const std::string& channel);
    boost::asio::awaitable<bool> leave(const std::string& uid, const std::string& channel);
    boost::asio::awaitable<bool> list(const std::string& connector, const std::string& channel);

    /// Checks the answer of a step against the model; `step` opens its printed line.
    bool check_state(const std::string& step, const std::string& channel,
                     const channel_state& state);
    bool check(bool ok, const std::string& failure);
    /// " (the remote's message)" of the last call, if it sent one.
    std::string remote_detail() const;
    std::string expected_holder(const std::string& channel) const;
    const std::string& connector_of(const std::string& uid) const;

    chat_rpc& rpc_;
    mailroom::diagnostics diag_; // of the step in progress (one at a time)
    std::vector<mailroom::server_info> cluster_;
    std::vector<std::string> connectors_;
    std::vector<std::string> chat_servers_;
    /// Which connector each user is connected to.
    std::map<std::string, std::string> users_;
    /// The model: the members each channel must have, in joining order.
    std::map<std::string, std::vector<std::string>> members_;
    /// The chat server first seen holding each channel.
    std::map<std::string, std::string> holders_;
    int passed_ = 0;
};

} // namespace chat
