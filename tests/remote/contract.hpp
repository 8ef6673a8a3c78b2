#pragma once

// A remote contract used by the tests: one method per handler form.

#include <mailroom/remote.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/reply_callback.hpp>

#include <boost/asio/awaitable.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailroom::test {

MAILROOM_REMOTE(game_remote, gameRemote,
    (add, int(int a, int b))
    (greet, std::string(std::string name))
    (slow_double, int(int x))
    (lookup, std::map<std::string, int>(std::string key, int value))
    (touch, void(std::string who))
    (whoami, std::string())
    (boom, int(std::string why))
    (ping, mailroom::no_reply(int n)));

struct game_rpc : rpc_base {
    using rpc_base::rpc_base;
    server_type<"game", game_remote> game{*this};
};

/// game_remote served plainly: each method in its handler form, with the obvious answer.
struct game_impl {
    int add(int a, int b) { return a + b; }
    std::string greet(std::string n) { return n; }
    boost::asio::awaitable<int> slow_double(int x) { co_return 2 * x; }
    void lookup(std::string k, int v, reply_callback<std::map<std::string, int>> cb) { cb({{k, v}}); }
    void touch(std::string) {}
    std::string whoami(const call_context& ctx) { return std::string(ctx.caller_id); }
    int boom(std::string why) { throw std::runtime_error(why); }
    void ping(int) {}
};

} // namespace mailroom::test
