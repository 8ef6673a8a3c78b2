#pragma once

// A remote contract used by the tests: one method per handler form.

#include <mailroom/remote.hpp>

#include <map>
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

} // namespace mailroom::test
