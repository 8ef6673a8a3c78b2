#pragma once

#include <mailroom/client/route_param.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/protocol/message.hpp>

#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom {

/** Picks the server that gets a call: (route param, call, server table) -> server id.

    Return an empty string when no server fits; the call then completes with
    `no_target_server`. It runs on the caller's thread, synchronously, for every call.
*/
using route_function = std::function<std::string(
    const route_param& param, const protocol::method_path& call, const server_table& servers)>;

/// Built-in route functions.
namespace routes {

/** pomelo's default route: `abs(int32(crc32(key))) % n` over the servers of the type
    ordered by id — the server a pomelo cluster picks for the same uid. A number is hashed as
    its decimal string, like a numeric uid in pomelo. Without a key or number, round robin.
*/
route_function hash();

/// Round robin over the servers of each type (one position per type and instance).
route_function round_robin();

/// A uniformly random server of the type.
route_function random();

} // namespace routes

/** The routing table: a default route function and per-server-type overrides.

    @par Thread safety
    All member functions may be called concurrently. Route functions run under a shared
    lock and must not call back into the router.

    @par Example
    @code
    mailroom::router r;                          // routes::hash() by default
    r.set("chat", [](const auto& p, const auto&, const auto& t) { return std::string(...); });
    @endcode
*/
class router {
public:
    router();
    explicit router(route_function default_route);

    /// Routes calls to servers of `server_type` with `f`.
    void set(std::string server_type, route_function f);

    /// Routes calls to server types without their own function with `f`.
    void set_default(route_function f);

    /// The server id for a call; empty if none fits.
    std::string route(const route_param& param, const protocol::method_path& call,
                      const server_table& servers) const;

private:
    mutable std::shared_mutex mu_;
    route_function default_;
    detail::string_map<route_function> by_type_;
};

} // namespace mailroom
