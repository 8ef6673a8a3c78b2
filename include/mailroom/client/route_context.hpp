#pragma once

#include <mailroom/client/server_table.hpp>
#include <mailroom/server_info.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mailroom {

/** Where a @ref route_context reads live load: calls in flight per server.

    The mail station implements it over its snapshot (one atomic counter per server, read
    without a lock); a test can give its own.

    @par Thread safety
    `in_flight` may be called concurrently from any thread.
*/
class load_source {
public:
    /** Requests sent to `server` (or queued for it) and not yet completed. `server` is an
        entry of the table the context was made with; 0 for a server never called.
    */
    virtual std::size_t in_flight(const server_info& server) const noexcept = 0;

    /** Whether `server` is down: its last connect cycle failed and no probe has connected
        since (mail_station_options::probe_delay); calls to it fail at once. False for a
        server never called.
    */
    virtual bool down(const server_info& server) const noexcept
    {
        (void)server;
        return false;
    }

protected:
    ~load_source() = default;
};

/** What a route function routes on, besides the route parameter and the call: a snapshot of
    the server table, its version, and the live load of each server.

    - the candidates: `of_type(call.server_type)`, ordered by id, so every process that
      routes alike picks the same server;
    - `version()`: changes whenever the table changes (it is the table's), so a route
      function can cache a structure derived from the table (a hash ring) against it;
    - `in_flight(server)`: calls in flight to a server, read from an atomic counter that the
      station keeps per server (no lock taken): 0 without a load source.

    It converts to `const server_table&`, and a `server_table` converts to it: a route
    function written for the table alone (`(route_param, method_path, const server_table&)`)
    still fits @ref route_function, and one can still be called with a bare table.
    It refers to the table and the load source; it lives only for the routing decision.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (it is immutable; the loads it reads change).

    @par Example
    @code
    auto least = [](const mailroom::route_param&, const mailroom::protocol::method_path& call,
                    const mailroom::route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);       // ordered by id
        auto it = std::min_element(list.begin(), list.end(), [&](auto* a, auto* b) {
            return ctx.in_flight(*a) < ctx.in_flight(*b); });
        return it == list.end() ? std::string() : (*it)->id;
    };
    @endcode
*/
class route_context {
public:
    /// A context over `table` without load (every server reads 0 calls in flight).
    route_context(const server_table& table) noexcept : table_(&table) {}

    /// A context over `table` whose load `loads` reports.
    route_context(const server_table& table, const load_source& loads) noexcept
        : table_(&table), loads_(&loads)
    {
    }

    /// The table routed on.
    const server_table& table() const noexcept { return *table_; }
    operator const server_table&() const noexcept { return *table_; }

    /// The table's version: equal versions mean the same table (see server_table::version).
    std::uint64_t version() const noexcept { return table_->version(); }

    /// The candidates for a call to `server_type`: its servers, ordered by id.
    std::span<const server_info* const> of_type(std::string_view server_type) const noexcept
    {
        return table_->of_type(server_type);
    }

    /// The server with this id, or nullptr.
    const server_info* find(std::string_view id) const noexcept { return table_->find(id); }

    /// Every server, in insertion order.
    const std::vector<server_info>& all() const noexcept { return table_->all(); }

    /// Calls in flight to `server` (an entry of this table): sent or queued, not completed.
    std::size_t in_flight(const server_info& server) const noexcept
    {
        return loads_ ? loads_->in_flight(server) : 0;
    }

    /** Whether `server` (an entry of this table) is down: calls to it fail at once with
        `connect_failed` until a background probe reaches it. The built-in `random`,
        `round_robin`, `weighted_round_robin` and `least_active` skip down servers while any
        server of the type is up; `hash` and `consistent_hash` keep their mapping (a key
        stays with its server; pair them with a failover policy). False without a load
        source.
    */
    bool down(const server_info& server) const noexcept
    {
        return loads_ ? loads_->down(server) : false;
    }

    /// Whether live load is known (routing on a station's snapshot).
    bool has_load() const noexcept { return loads_ != nullptr; }

private:
    const server_table* table_;
    const load_source* loads_ = nullptr;
};

} // namespace mailroom
