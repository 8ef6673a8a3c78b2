#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace mailroom {

/** One server of the cluster, as pomelo's `servers.json` describes it.

    @par Example
    @code
    mailroom::server_info chat{.id = "chat-1", .server_type = "chat",
                               .host = "127.0.0.1", .port = 3150};
    @endcode
*/
struct server_info {
    /// Unique id within the cluster, e.g. "chat-server-1".
    std::string id{};
    /// The type whose remotes it serves, e.g. "chat".
    std::string server_type{};
    /// Host name or address its acceptor listens on.
    std::string host{};
    /// Port its acceptor listens on.
    std::uint16_t port = 0;
    /// Name of the transport its acceptor speaks; default "tcp".
    std::string transport = "tcp";
    /// Relative weight for weighted routers; default 1.
    int weight = 1;
    /// Transport-specific settings (e.g. a socket path), read by that transport's factory.
    std::map<std::string, std::string, std::less<>> options{};
    /** The incarnation: a registry gives each start of a server a larger epoch (0: none, as
        in servers.json). An entry with a new epoch is a new server to the mail station: the
        old incarnation's mail box drains and closes, a new one connects.
    */
    std::uint64_t epoch = 0;

    friend bool operator==(const server_info&, const server_info&) = default;
};

} // namespace mailroom
