// Latency percentiles and throughput of a load run, shared by the load generator
// (benchmarks/load) and `mailroom bench`. Internal: not installed.

#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace mailroom::tools {

/// Latency percentiles (nearest rank) and throughput, in microseconds and calls/s.
struct latency_summary {
    std::uint64_t measured = 0;
    double seconds = 0;
    double calls_per_sec = 0;
    double min_us = 0, mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

/** Sorts `latencies_ns` (one per measured call, any order) in place and summarises them;
    `elapsed` is the measured wall time, for calls/s.
*/
latency_summary summarise(std::vector<std::int64_t>& latencies_ns, std::chrono::nanoseconds elapsed);

/// Nearest-rank percentile of sorted values: the smallest value with at least `q` of the
/// samples at or below it. `sorted` must not be empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q);

} // namespace mailroom::tools
