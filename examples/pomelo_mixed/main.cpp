// pomelo-chat-server: a C++ chat server in a pomelo cluster whose connectors stay in Node.
//
// It serves user.chatRemote over the pomelo transport (pomelo-rpc 1.0.7's own wire), so that
// stock pomelo-rpc connectors call it as they called the Node chat server it replaces, and it
// calls back into them (connectorRemote.push, a remote that exists only in JavaScript) with
// dynamic JSON calls. connector.js is such a connector; run.sh starts both and runs a
// conversation (docs/pomelo-interop.md).
//
// usage: pomelo-chat-server --config servers.json --server-id ID [--env NAME]

#include <mailroom/app/app.hpp>
#include <mailroom/pomelo.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace asio = boost::asio;

namespace {

/// The channels this server holds: channel -> (uid -> the connector the user is on).
class channels {
public:
    /// Adds `uid`, reached through connector `sid`; returns the channel's members.
    std::vector<std::string> add(const std::string& uid, const std::string& sid,
                                 const std::string& channel)
    {
        std::lock_guard lock(mu_);
        auto& c = channels_[channel];
        c[uid] = sid;
        return names(c);
    }

    void leave(const std::string& uid, const std::string& channel)
    {
        std::lock_guard lock(mu_);
        channels_[channel].erase(uid);
    }

    std::map<std::string, std::string> members(const std::string& channel)
    {
        std::lock_guard lock(mu_);
        return channels_[channel];
    }

private:
    static std::vector<std::string> names(const std::map<std::string, std::string>& c)
    {
        std::vector<std::string> out;
        for (const auto& [uid, sid] : c)
            out.push_back(uid);
        return out;
    }

    std::mutex mu_;
    std::map<std::string, std::map<std::string, std::string>> channels_;
};

/// chatRemote.send: pushes "from: text" to every member of `channel` through the Node
/// connector the member is on (connectorRemote.push has no C++ declaration: JSON arguments,
/// JSON result), then answers with two results, cb(null, delivered, server).
asio::awaitable<mailroom::pomelo::results<int, std::string>>
send(mailroom::basic_app& app, channels& state, std::string self, std::string from,
     std::string channel, std::string text)
{
    int delivered = 0;
    const auto members = state.members(channel);
    for (auto it = members.begin(); it != members.end(); ++it) {
        const std::string& uid = it->first;
        const std::string& sid = it->second;
        // Built before the co_await: g++ 12 cannot keep an initializer list's array in a
        // coroutine frame ("array used as initializer").
        nlohmann::json args = nlohmann::json::array();
        args.push_back(uid);
        args.push_back(from + ": " + text);
        mailroom::protocol::method_path push;
        push.server_type = "connector";
        push.service = "connectorRemote";
        push.method = "push";
        std::tuple<std::error_code, mailroom::reply> r =
            co_await app.dynamic().async_call_to<mailroom::reply>(sid, push, args,
                                                                  asio::use_awaitable);
        const auto& ec = std::get<0>(r);
        const auto* result = std::get<1>(r).json();
        if (!ec && result && *result == true)
            ++delivered;
        else if (ec)
            std::fprintf(stderr, "push to %s on %s: %s\n", uid.c_str(), sid.c_str(),
                         ec.message().c_str());
    }
    co_return mailroom::pomelo::results<int, std::string>{delivered, std::move(self)};
}

} // namespace

int main(int argc, char** argv)
{
    channels state;
    try {
        auto options = mailroom::app_options::from_args(argc, argv);
        mailroom::basic_app app(std::move(options));
        app.add_transport("tcp", mailroom::tcp::make_transport());
        app.add_transport("pomelo", mailroom::pomelo::make_transport());
        const std::string self = app.self().id;
        auto& d = app.get_dispatcher();

        // chatRemote.add(uid, sid, channel, cb) -> cb(null, members)
        d.add("chatRemote", "add", [&](std::string uid, std::string sid, std::string channel) {
            return state.add(uid, sid, channel);
        });
        d.add("chatRemote", "leave", [&](std::string uid, std::string channel) {
            state.leave(uid, channel);
        });
        // chatRemote.send(from, channel, text, cb) -> cb(null, delivered, server)
        d.add(
            "chatRemote", "send",
            [&app, &state, self](std::string from, std::string channel, std::string text) {
                return send(app, state, self, std::move(from), std::move(channel),
                            std::move(text));
            },
            app.get_executor());
        return app.run();
    } catch (const mailroom::config_error& e) {
        std::fprintf(stderr, "%s: %s\nusage: %s --config servers.json --server-id ID\n", argv[0],
                     e.what(), argv[0]);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
