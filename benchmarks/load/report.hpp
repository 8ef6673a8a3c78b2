#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace mailroom::load {

/// What one load run produced.
struct run_result {
    /// Calls completed, warm-up included.
    std::uint64_t calls = 0;
    /// Calls not measured (the warm-up).
    std::uint64_t warmup_calls = 0;
    /// Calls that failed (an error code or a wrong echo), warm-up included.
    std::uint64_t errors = 0;
    /// The first failure, for the diagnostic.
    std::string first_error;
    /// From the first measured issue to the last measured completion.
    std::chrono::nanoseconds elapsed{0};
    /// One latency per measured call, in nanoseconds, in any order.
    std::vector<std::int64_t> latencies_ns;
};

/// Latency percentiles (nearest rank) and throughput, in microseconds and calls/s.
struct summary {
    std::uint64_t measured = 0;
    double seconds = 0;
    double calls_per_sec = 0;
    double min_us = 0, mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

/// Sorts `r.latencies_ns` in place and summarises them.
summary summarise(run_result& r);

/// One JSON object, on one line, with a trailing newline.
std::string format_json(const load_options& o, const run_result& r, const summary& s);

/// A readable multi-line summary.
std::string format_text(const load_options& o, const run_result& r, const summary& s);

} // namespace mailroom::load
