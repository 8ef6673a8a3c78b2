#pragma once

// Pieces the modes of mailroom-cluster-sim share.

#include <mailroom/redis/registry_layout.hpp>
#include <mailroom/server_info.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "redis/redis_server.hpp"
#include "redis_probe.hpp"

namespace mailroom::cluster_sim {

/// The registry's keys for cluster "sim" (docs/membership.md, "Keys").
const redis::registry_layout::keys& sim_keys();

/// Whether `program` is an executable file in a directory of PATH.
bool on_path(const std::string& program);

/// INFO all and the CPU time of `redis`, now.
redis_reading read_redis(const test::redis_server& redis);

struct list_cost {
    double usec_per_call = -1; ///< Redis's own time per list (commandstats)
    double reply_bytes = -1;   ///< the entries it returns, without RESP framing
};

/// Runs the list `calls` times with EVALSHA and reads its cost from Redis's commandstats
/// (after CONFIG RESETSTAT: counters read before are reset).
list_cost probe_list(const test::redis_server& redis, int calls);

/// Member `i`'s entry: what a game server's servers.json line carries.
server_info make_info(std::size_t i);

} // namespace mailroom::cluster_sim
