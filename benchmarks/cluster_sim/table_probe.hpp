#pragma once

#include "sim_options.hpp"

namespace mailroom::cluster_sim {

/** The Redis side alone, for tables larger than this machine can run members for: a
    redis-server of its own is given `o.table` synthetic entries (the registry's keys and
    entry format, leases an hour long, nobody renewing or watching), then
    - one member's re-read (the registry's *list* script) is timed 20 times: Redis's own
      time and the reply's size;
    - a *storm*: the `o.table` re-reads one change causes (every member reads the whole
      table on every event), pipelined on one link: how long Redis takes to answer them all,
      its CPU, and the bytes it sends. That is the earliest a change can reach the last
      peer when every member has its own machine;
    - the same change if each member read only the entry the event names (one HGET each).
    Prints the figures and what they imply for a cluster of that size. Returns 0, 1 on
    failure, 77 when redis-server is not installed.
*/
int run_table_probe(const sim_options& o);

} // namespace mailroom::cluster_sim
