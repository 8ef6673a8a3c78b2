#pragma once

#include "sim_options.hpp"

namespace mailroom::cluster_sim {

/** The registry simulation: `o.members` real Redis registries (mailroom::redis::make_registry)
    in this process, on `o.threads` io_contexts, against a redis-server it starts on a free
    loopback port. Measures the cold start, the steady-state traffic and CPU of Redis and of
    the members, and how long a join, a clean leave and a killed member (its loop stopped:
    no renewal, no leave) take to reach every peer's table. Prints a report.

    Returns 0; 1 when `o.check` is set and a change did not reach every peer, or the run
    failed; 77 when redis-server is not installed (CTest's skip code).
*/
int run_registry_sim(const sim_options& o);

} // namespace mailroom::cluster_sim
