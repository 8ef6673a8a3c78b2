#pragma once

#include "sim_options.hpp"

namespace mailroom::cluster_sim {

/** What one link of a full mesh costs, both ends: one mail station with `o.links` server
    entries (so `o.links` mail boxes) and one server they all connect to, in this process,
    over loopback TCP. One call opens each link; then the links sit idle. Reports RSS, heap
    and file descriptors per link, and the full mesh extrapolated to 100 and 1,000 servers.
    Returns 0, or 1 when a link could not be opened.
*/
int run_idle_links(const sim_options& o);

} // namespace mailroom::cluster_sim
