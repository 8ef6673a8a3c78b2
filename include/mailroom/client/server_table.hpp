#pragma once

#include <mailroom/detail/string_map.hpp>
#include <mailroom/server_info.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailroom {

/** An immutable snapshot of the servers a station knows, indexed by id and by type.

    The station replaces its snapshot on every membership change, so a route function works
    on a consistent view without holding a lock. Every table gets a version of its own, so a
    route function can cache what it derives from a table (a hash ring) against it.

    @par Thread safety
    Immutable after construction: safe to share.

    @par Example
    @code
    auto table = station.servers();
    for (const server_info* s : table->of_type("chat")) std::cout << s->id << '\n';
    @endcode
*/
class server_table {
public:
    server_table();
    explicit server_table(std::vector<server_info> servers);

    // The indexes point into servers_: a copy would point into the original.
    server_table(const server_table&) = delete;
    server_table& operator=(const server_table&) = delete;

    /// The server with this id, or nullptr.
    const server_info* find(std::string_view id) const noexcept;

    /// The servers of one type, ordered by id (so every process routes alike).
    std::span<const server_info* const> of_type(std::string_view server_type) const noexcept;

    /// Every server, in insertion order.
    const std::vector<server_info>& all() const noexcept { return servers_; }

    /** This table's version, unique in the process (never 0): every table made gets a new
        one, so the station's snapshot changes version whenever its servers change (it may
        also change when they do not, e.g. when a transport is added). Equal versions mean
        the same table.
    */
    std::uint64_t version() const noexcept { return version_; }

private:
    std::uint64_t version_;
    std::vector<server_info> servers_;
    detail::string_map<const server_info*> by_id_;
    detail::string_map<std::vector<const server_info*>> by_type_;
};

} // namespace mailroom
