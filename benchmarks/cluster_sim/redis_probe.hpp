#pragma once

// What mailroom-cluster-sim reads about the redis-server it started: INFO (command counts,
// network bytes, per-command time) and the process's CPU from /proc.

#include <chrono>
#include <map>
#include <string>

namespace mailroom::cluster_sim {

/// One reading of a redis-server: INFO's fields and its CPU time.
struct redis_reading {
    std::chrono::steady_clock::time_point at{};
    /// Every `key:value` line of `INFO all` (values as text).
    std::map<std::string, std::string> info;
    /// utime + stime of the process (all its threads), from /proc/<pid>/stat, in seconds.
    double cpu_s = 0;

    /// `info[key]` as a number; 0 when absent.
    double number(const std::string& key) const;
    /// A field of a commandstats line (`cmdstat_eval` → `calls`, `usec`); 0 when absent.
    double command_field(const std::string& command, const std::string& field) const;
};

/// CPU seconds (user + system) that process `pid` has used, from /proc/<pid>/stat; -1 if
/// it cannot be read.
double process_cpu_seconds(int pid);

/// What happened between two readings, per second.
struct redis_rates {
    double seconds = 0;
    double commands_per_s = 0;       ///< total_commands_processed (top-level commands)
    double input_bytes_per_s = 0;    ///< total_net_input_bytes
    double output_bytes_per_s = 0;   ///< total_net_output_bytes
    double cpu_fraction = 0;         ///< CPU seconds per second (1.0 = one core)
    double eval_per_s = 0;           ///< EVAL calls (register, renew, leave, list)
    double eval_usec_per_call = 0;   ///< Redis's own time per EVAL, in µs
    double publish_per_s = 0;        ///< PUBLISH from the scripts
    double hget_per_s = 0;           ///< HGET from the scripts (the list reads one per member)
};

redis_rates rates_between(const redis_reading& a, const redis_reading& b);

} // namespace mailroom::cluster_sim
