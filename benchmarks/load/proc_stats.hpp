#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::load {

/// CPU time this process has used so far (all threads), from getrusage(RUSAGE_SELF).
struct cpu_times {
    double user_us = 0;
    double sys_us = 0;
    double total_us() const noexcept { return user_us + sys_us; }
};

cpu_times process_cpu() noexcept;

/// Peak resident set size of this process, in KiB: VmHWM from /proc/self/status (getrusage's
/// ru_maxrss if that cannot be read: it carries a parent's peak across exec).
long peak_rss_kib() noexcept;

/// Current resident set size (/proc/self/statm), in KiB; 0 if unknown.
long current_rss_kib() noexcept;

/// Heap bytes in use according to malloc (mallinfo2: uordblks + hblkhd).
std::size_t heap_in_use() noexcept;

/// Restricts this process (every thread, and threads created later) to `cpus`.
/// Returns an error text, or nothing on success.
std::optional<std::string> pin_to(const std::vector<int>& cpus);

/// Raises RLIMIT_NOFILE's soft limit towards `want` (up to the hard limit, raising the hard
/// limit too when privileged). Returns the soft limit now in force.
std::size_t raise_nofile(std::size_t want) noexcept;

/** What an echo server reports about itself (answer to the "stats" control command).

    On the control pipe it travels as one line: `stats user_us=.. sys_us=.. maxrss_kib=..
    rss_kib=.. heap_bytes=.. connections=.. held=..` (the pomelo harness writes the same).
*/
struct server_stats {
    double user_us = 0;
    double sys_us = 0;
    long maxrss_kib = 0;
    long rss_kib = 0;
    double heap_bytes = 0;
    double connections = 0;
    double held = 0;
    double cpu_us() const noexcept { return user_us + sys_us; }
};

/// This process's figures, with the server-specific counts filled by the caller.
server_stats own_stats(std::size_t connections, std::size_t held) noexcept;

/// The line (without newline) for `s`.
std::string format_stats_line(const server_stats& s);

/// Parses a line written by @ref format_stats_line; unknown keys are ignored.
std::optional<server_stats> parse_stats_line(std::string_view line);

} // namespace mailroom::load
