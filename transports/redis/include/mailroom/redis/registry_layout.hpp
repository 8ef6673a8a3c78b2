#pragma once

#include <mailroom/server_info.hpp>

#include <optional>
#include <string>
#include <string_view>

/** How the Redis registry (@ref mailroom::redis::make_registry) lays out its data in Redis
    (docs/membership.md, "Keys"), for tools that read or probe a registry from outside (the
    cluster simulation does): they use these instead of copies that could drift.

    @par Thread safety
    Pure functions.
*/
namespace mailroom::redis::registry_layout {

/// The keys of one registry cluster; they share a hash tag, so one Redis Cluster slot.
struct keys {
    std::string members; ///< sorted set: member id -> lease expiry (ms, Redis TIME)
    std::string entries; ///< hash: member id -> its entry (@ref entry_json)
    std::string events;  ///< pub/sub channel: "join <id>", "leave <id>", "expired <id>"
    std::string epoch;   ///< counter: the last epoch given out
};

/// The keys of registry cluster `cluster` (registry_options::cluster).
keys keys_of(std::string_view cluster);

/// A member's entry as the registry stores it: JSON with id, serverType, host, port,
/// transport, weight, epoch and options.
std::string entry_json(const server_info& s);

/// An entry read back; nullopt if `json` is not one (no id or server type, wrong types).
std::optional<server_info> parse_entry(std::string_view json);

/** The Lua script every member runs to read the table (KEYS: members, entries, events; no
    ARGV): it removes the members whose lease expired, publishing "expired <id>" for each,
    and returns the live members' entries.
*/
std::string_view list_script() noexcept;

} // namespace mailroom::redis::registry_layout
