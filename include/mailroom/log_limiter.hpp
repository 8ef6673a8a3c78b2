#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom {

/// How often a @ref log_limiter lets lines about one key through.
struct log_limit_settings {
    /// Length of one window. 0 disables the limit (every line is written). Default: 10 s.
    std::chrono::milliseconds interval{10'000};
    /// Lines written per key and window; the rest are counted. Default: 1.
    std::size_t lines_per_interval = 1;
    /// Keys tracked at once; beyond it, keys whose window ended are forgotten, and while none
    /// has, new keys share one entry (a peer spraying addresses cannot grow the table).
    /// Default: 4,096.
    std::size_t max_keys = 4096;
};

/** Rate-limits log lines per key (a peer's address): at most `lines_per_interval` lines a
    window per key; the first line admitted after some were suppressed carries their count.
    Time is passed in, so tests drive it without sleeping.

    @par Thread safety
    All member functions may be called from any thread (a mutex guards the table).

    @par Example
    @code
    mailroom::log_limiter limit({.interval = 10s});
    if (std::uint64_t dropped = 0; limit.admit(peer_host(addr), now, dropped))
        log.log(level, "closing connection from {}: {} ({} more suppressed)", addr, why, dropped);
    @endcode
*/
class log_limiter {
public:
    using clock = std::chrono::steady_clock;

    explicit log_limiter(log_limit_settings settings = {}) : settings_(settings) {}

    /** Whether a line about `key` may be written at `now`. When it may, `suppressed` is the
        number of lines about `key` refused since the last one admitted (0 otherwise).
    */
    bool admit(std::string_view key, clock::time_point now, std::uint64_t& suppressed);

    /// Lines refused so far, over every key.
    std::uint64_t suppressed_total() const;

    /// Keys tracked now.
    std::size_t keys() const;

private:
    struct entry {
        clock::time_point window_start;
        std::size_t written = 0;       // in the current window
        std::uint64_t suppressed = 0;  // since the last line admitted
    };
    void forget_ended(clock::time_point now);

    const log_limit_settings settings_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, entry> entries_;
    std::uint64_t suppressed_total_ = 0;
};

/// The host part of an address written "host:port" or "[v6]:port" (the key of a peer that
/// reconnects from new ports); the address unchanged when it has no port.
std::string_view peer_host(std::string_view address) noexcept;

} // namespace mailroom
