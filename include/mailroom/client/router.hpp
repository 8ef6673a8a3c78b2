#pragma once

#include <mailroom/client/route_context.hpp>
#include <mailroom/client/route_param.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/protocol/message.hpp>

#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom {

/** Picks the server that gets a call: (route param, call, route context) -> server id.

    The context gives the candidates (`ctx.of_type(call.server_type)`, ordered by id), the
    table's version (to cache a derived structure against) and live load
    (`ctx.in_flight(server)`); see @ref route_context. A function written for
    `(const route_param&, const protocol::method_path&, const server_table&)` fits as well:
    the context converts to its table.

    Return an empty string when no server fits; the call then completes with
    `no_target_server`. It runs on the caller's thread, synchronously, for every call, and
    may run on several threads at once.
*/
using route_function = std::function<std::string(
    const route_param& param, const protocol::method_path& call, const route_context& ctx)>;

/// Built-in route functions: pomelo's set (`df`, `rd`, `rr`, `wrr`, `la`, `ch`). Each one
/// keeps its state per server type, and is thread-safe. See docs/routing.md.
namespace routes {

/** pomelo's default route (`df`): `abs(int32(crc32(key))) % n` over the servers of the type
    ordered by id — the server a pomelo cluster picks for the same uid. A number is hashed as
    its decimal string, like a numeric uid in pomelo. Without a key or number, round robin.
*/
route_function hash();

/// Round robin over the servers of each type (one position per type and instance).
route_function round_robin();

/// A uniformly random server of the type.
route_function random();

/** Smooth weighted round robin, as nginx does it, by `server_info::weight`: over any
    window of `W` calls (`W` the sum of the weights, divided by their gcd) each server gets
    exactly its share, spread out rather than in bursts (weights 5, 1, 1 give a a b a c a a).
    The default weight is 1; a server of weight 0 (or less) gets no call while a server of its
    type has a positive weight. The schedule is computed once per table version and type,
    then followed with one atomic increment per call. Weights whose reduced sum exceeds
    65,536 are scaled down to that sum (each keeps at least 1).
*/
route_function weighted_round_robin();

/** Least active: the server of the type with the fewest calls in flight
    (`route_context::in_flight`), ties broken uniformly at random, so equally loaded
    servers share the calls evenly. A server that answers slowly accumulates calls in flight
    and is avoided until it catches up. Without live load (a bare table) it is random.
*/
route_function least_active();

/// Options of @ref consistent_hash.
struct consistent_hash_options {
    /// Points per server on the ring; more spread the keys more evenly. Default 160.
    unsigned virtual_nodes = 160;
    /** The key of a call, when the route parameter's key or number is not it: e.g. a field
        of the object given with `route_param::of` (`[](auto& p) { return p.template
        get<session>() ? ... }`). Returns nothing for "no key". Unset: the route parameter's
        key, or its number as a decimal string.
    */
    std::function<std::optional<std::string>(const route_param&)> key_of{};
};

/** Consistent hashing on a ring of virtual nodes (`virtual_nodes` points per server, 64-bit
    hashes): a key goes to the first point at or after its hash. When one of N servers joins
    or leaves, only the keys of that server move (about 1/N of them); docs/routing.md gives
    the fractions measured. The ring is built once per table version and server type and
    shared by every thread. Without a key, round robin.
*/
route_function consistent_hash(consistent_hash_options options = {});

} // namespace routes

/** The routing table: a default route function and per-server-type overrides.

    @par Thread safety
    All member functions may be called concurrently. Route functions run under a shared
    lock and must not call back into the router.

    @par Example
    @code
    mailroom::router r;                          // routes::hash() by default
    r.set("chat", mailroom::routes::least_active());
    r.set("area", [](const auto& p, const auto& call, const auto& ctx) { return std::string(...); });
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

    /** The server id for a call; empty if none fits. A bare `server_table` converts to a
        context without load.
    */
    std::string route(const route_param& param, const protocol::method_path& call,
                      const route_context& ctx) const;

private:
    mutable std::shared_mutex mu_;
    route_function default_;
    detail::string_map<route_function> by_type_;
};

} // namespace mailroom
