#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace mailroom::cluster_sim {

/// mailroom-cluster-sim's command line (`--help` in main.cpp).
struct sim_options {
    std::size_t members = 100;               ///< registry members started before measuring
    unsigned threads = 2;                    ///< io_contexts (one thread each) they share
    std::chrono::milliseconds lease_ttl{3000};
    std::chrono::milliseconds resync_period{1000};
    std::size_t start_batch = 50;            ///< members started at once during the cold start
    unsigned rounds = 3;                     ///< join / clean leave / kill measurements
    double window_s = 5;                     ///< the steady-state measurement window
    double phase_limit_s = 30;               ///< give up on a change reaching every peer after this
    std::size_t links = 0;                   ///< >0: measure idle links instead (see idle_links.hpp)
    std::size_t table = 0;                   ///< >0: probe Redis with a synthetic table instead (table_probe.hpp)
    bool check = false;                      ///< exit 1 unless every change reached every peer
    bool json = false;
};

} // namespace mailroom::cluster_sim
