#pragma once

#include <mailroom/remote.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom {

/// One method a server offers, as `sys.introspect.methods` lists it.
struct method_description {
    std::string ns;
    std::string service;
    std::string method;
    /// The declared signature ("int(int a, int b)"); empty for methods bound without a
    /// declaration.
    std::string signature;
    MSGPACK_DEFINE_MAP(ns, service, method, signature)
};

/// What `sys.health.ping` answers.
struct health_status {
    std::string server_id;
    std::string server_type;
    std::uint64_t uptime_ms = 0;
    MSGPACK_DEFINE_MAP(server_id, server_type, uptime_ms)
};

/// Built-in remotes of every App, bound in the "sys" namespace.
namespace sys {

/// `sys.introspect.methods()`: every method the server offers, with its declared signature.
MAILROOM_REMOTE(introspect_remote, introspect,
                (methods, std::vector<mailroom::method_description>()));

/// `sys.health.ping()`: the server's id, type and uptime.
MAILROOM_REMOTE(health_remote, health, (ping, mailroom::health_status()));

} // namespace sys
} // namespace mailroom
