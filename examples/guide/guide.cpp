// guide: every C++ snippet of docs/guide.md, compiled by the build so the guide cannot
// drift from the API. (A test checks each snippet of the guide appears here verbatim.)
// It is compiled, not run: the behaviour it shows is exercised by tests/ and examples/.

#include <mailroom/mailroom.hpp> // the core: App, remotes, stubs, routes, filters, errors
#include <mailroom/tcp.hpp>      // the TCP transport (CMake target mailroom::tcp)

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace guide {

struct session {
    std::string uid;
    std::string channel;
};

// The contract, in a header shared by the chat servers and their callers.
MAILROOM_REMOTE(chat_remote, chatRemote,
    (add, std::vector<std::string>(std::string uid, std::string sid, std::string channel))
    (leave, void(std::string uid, std::string sid, std::string channel))
    (get, std::vector<std::string>(std::string channel))
    (kick, mailroom::no_reply(std::string uid)));

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"chat", chat_remote> chat{*this};
};

// One handler form per method; each may also take `const mailroom::call_context&` first.
class chat_service {
public:
    // plain: the return value is the result
    std::vector<std::string> add(std::string uid, std::string sid, std::string channel)
    {
        auto& members = channels_[channel];
        members.insert(uid + "*" + sid);
        return {members.begin(), members.end()};
    }

    // reply callback: answer now or later, from any thread
    void leave(std::string uid, std::string sid, std::string channel,
               mailroom::reply_callback<void> done)
    {
        channels_[channel].erase(uid + "*" + sid);
        done();
    }

    // coroutine: may await other calls, timers, ...
    asio::awaitable<std::vector<std::string>> get(const mailroom::call_context& ctx,
                                                  std::string channel)
    {
        if (ctx.deadline - std::chrono::steady_clock::now() < 10ms) // nothing changed yet:
            throw std::system_error(mailroom::error::deadline_exceeded); // the caller's code
        auto& members = channels_[channel];
        co_return std::vector<std::string>(members.begin(), members.end());
    }

    // notify: the caller gets no response
    void kick(std::string uid) { std::printf("kick %s\n", uid.c_str()); }

private:
    std::map<std::string, std::set<std::string>> channels_;
};

std::string route_by_channel(const mailroom::route_param& param,
                             const mailroom::protocol::method_path& call,
                             const mailroom::route_context& ctx)
{
    auto list = ctx.of_type(call.server_type);       // ordered by id
    const session* s = param.get<session>();
    if (list.empty() || !s)
        return {};                                   // -> error::no_target_server
    return list[mailroom::crc32(s->channel) % list.size()]->id;
}

int main_of_a_server(int argc, char** argv)
{
    try {
        mailroom::app<cluster_rpc> app(mailroom::app_options::from_args(argc, argv));
        app.add_transport("tcp", mailroom::tcp::make_transport());
        app.routes().set("chat", route_by_channel);
        chat_service chat;
        if (app.self().server_type == "chat")
            app.serve<chat_remote>(chat);             // serialized on its own strand
        return app.run();                            // until SIGINT/SIGTERM, then a graceful stop
    } catch (const mailroom::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());      // names the file and the field
        return 2;
    }
}

void calls(mailroom::app<cluster_rpc>& app, const session& s)
{
    auto& chat = app.rpc.chat.chatRemote;

    // callback: (error_code, result)
    chat.add(mailroom::route_param::of(s), s.uid, "connector-1", s.channel,
             [](std::error_code ec, std::vector<std::string> members) {
                 if (!ec)
                     std::printf("%zu members\n", members.size());
             });

    // future: std::future<std::tuple<std::error_code, std::vector<std::string>>>
    auto f = chat.get(mailroom::route_param::of(s), s.channel, asio::use_future);

    // a chosen server, no routing; a per-call timeout
    chat.to_server("chat-server-1").kick(s.uid, [](std::error_code) {});
    chat.with({.timeout = 500ms}).get(mailroom::route_param::of(s), s.channel,
                                      [](std::error_code, std::vector<std::string>) {});
    f.wait();
}

asio::awaitable<void> coroutine_calls(mailroom::app<cluster_rpc>& app, session s)
{
    // co_await yields (error_code, result); it never throws
    auto [ec, members] = co_await app.rpc.chat.chatRemote.add(
        mailroom::route_param::of(s), s.uid, "connector-1", s.channel, asio::use_awaitable);
    if (ec == mailroom::condition::retryable) {
        // the call reached no handler: safe to try again
    }

    // the remote's message of a failed typed call
    mailroom::diagnostics diag;
    auto [err, listed] = co_await app.rpc.chat.chatRemote.get(mailroom::route_param::of(s),
                                                             s.channel, diag,
                                                             asio::use_awaitable);
    if (err == mailroom::error::remote_error)
        std::printf("chat said: %s\n", diag.remote_message().c_str());
    co_return;
}

void dynamic_calls(mailroom::app<cluster_rpc>& app)
{
    // a remote with no C++ declaration: by names, the result as its protocol wrote it
    app.dynamic().async_call({.server_type = "chat", .service = "chatRemote", .method = "get"},
                             "room-1", std::tuple{std::string("room-1")},
                             [](std::error_code ec, mailroom::reply r) {
                                 if (ec == mailroom::error::remote_error)
                                     std::printf("remote said: %s\n", r.error_message().c_str());
                                 else if (!ec)
                                     std::printf("%zu members\n",
                                                 r.as<std::vector<std::string>>().size());
                             });
}

struct failover_once : mailroom::failure_policy {
    mailroom::retry_decision on_failure(const mailroom::call_failure& f) override
    {
        auto others = f.candidates(); // servers of the type in the call's snapshot that
                                      // have not failed this call, ordered by id
        if (f.sent || !f.routed || others.empty())
            return mailroom::retry_decision::complete(); // the error goes to the caller
        return mailroom::retry_decision::resend(others.front()->id);
    }
};

void set_failure_policies(mailroom::app<cluster_rpc>& app)
{
    app.dynamic().policies().set("chat", std::make_shared<failover_once>());
}

void shipped_policies(mailroom::app<cluster_rpc>& app, const session& s)
{
    // chatRemote.get may run twice; every other call moves only if it did not run.
    app.dynamic().policies().set("chat", std::make_shared<mailroom::failover>(
        mailroom::failover::options{
            .max_attempts = 3, .idempotent = mailroom::idempotent_methods({"chatRemote.get"})}));
    // this call alone: retried in place on transient errors
    app.rpc.chat.chatRemote.with({.policy = std::make_shared<mailroom::failsafe>()})
        .get(mailroom::route_param::of(s), s.channel,
             [](std::error_code, std::vector<std::string>) {});
}

void broadcast(mailroom::app<cluster_rpc>& app)
{
    app.rpc.chat.chatRemote.get.to_all(
        "room-1", [](mailroom::broadcast_result<std::vector<std::string>> r) {
            for (const auto& [server_id, o] : r)
                if (o) // this server's result
                    std::printf("%s: %zu members\n", server_id.c_str(), o.value.size());
                else // this server's error
                    std::printf("%s: %s\n", server_id.c_str(), o.error.message().c_str());
        });
    app.rpc.chat.chatRemote.kick.to_all("spammer", [](mailroom::broadcast_result<void>) {});
    // the dynamic proxy: app.dynamic().async_call_all<R>(path, args, options, token)
}

asio::awaitable<void> health_check(mailroom::app<cluster_rpc>& app)
{
    // the built-in remotes of one server, typed
    auto [ec, health] = co_await app.rpc.sys("chat-server-1").health.ping(asio::use_awaitable);
    if (!ec)
        std::printf("%s up for %llu ms\n", health.server_id.c_str(),
                    static_cast<unsigned long long>(health.uptime_ms));
}

} // namespace guide

int main(int argc, char** argv) { return guide::main_of_a_server(argc, argv); }
