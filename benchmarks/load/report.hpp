#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "latency_summary.hpp"
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
    /// Memory the client used to keep the latencies, in KiB (part of its peak RSS).
    std::uint64_t latency_store_kib = 0;
};

/// Latency percentiles (nearest rank) and throughput, in microseconds and calls/s.
using summary = tools::latency_summary;

/// Sorts `r.latencies_ns` in place and summarises them.
summary summarise(run_result& r);

/// CPU and memory of one run. Negative values are unknown (printed as null).
struct resource_use {
    /// What `cpu_us_per_call` covers: "process" (inproc: client and server in one process),
    /// "client+server" (separate), or "client" (client mode: the server is elsewhere); with
    /// "+redis" when redis-server's CPU is included.
    std::string cpu_scope = "process";
    double cpu_us_per_call = -1;
    double client_cpu_us_per_call = -1;
    double server_cpu_us_per_call = -1;
    /// redis-server's CPU per call (the redis transports, when its process can be read).
    double redis_cpu_us_per_call = -1;
    /// Peak RSS of the client process (the whole process in inproc mode), KiB.
    double peak_rss_kib = -1;
    /// Peak RSS of the server process (separate mode), KiB.
    double server_peak_rss_kib = -1;
};

/// One run, summarised.
struct measurement {
    std::string transport;
    run_result result; // latencies are dropped once summarised
    summary sum;
    resource_use use;
};

/// The numbers of a measurement, by JSON key, in print order (unknown ones negative).
std::vector<std::pair<std::string, double>> numbers(const load_options& o, const measurement& m);

/// One JSON object, on one line, with a trailing newline.
std::string format_json(const load_options& o, const measurement& m);

/// A readable multi-line summary.
std::string format_text(const load_options& o, const measurement& m);

/** Medians over several runs (and, with --vs-raw, the raw runs and the medians of the
    per-round ratios mailroom/raw), as one JSON object or as text.
*/
std::string format_rounds_json(const load_options& o, const std::vector<measurement>& main,
                               const std::vector<measurement>& raw);
std::string format_rounds_text(const load_options& o, const std::vector<measurement>& main,
                               const std::vector<measurement>& raw);

/// The median of `v` (the mean of the two middle values for an even count); -1 if empty.
double median(std::vector<double> v);

} // namespace mailroom::load
