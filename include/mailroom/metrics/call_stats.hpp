#pragma once

#include <mailroom/metrics/histogram.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace mailroom::metrics {

class registry;


/// Which end of the call path counted a call.
enum class side : std::uint8_t { client, server };

/// "client" or "server".
std::string_view to_string(side s) noexcept;

/** The name of an error code as metrics label it: the enumerator's name for a
    `mailroom::error` ("timeout", "server_busy", ...), "other" for any other category.
*/
std::string_view code_name(std::error_code ec) noexcept;

/** The counters of one series of calls: a method on one end (side, namespace, server type,
    service, method), or the calls this App made to one server (`server_id` set).

    Made by a @ref registry, which owns it and never frees it while it lives: a pointer to
    it stays valid for the registry's lifetime.

    @par Thread safety
    All member functions may be called concurrently; `started`, `completed` and `timed` are
    relaxed atomic increments (no lock, no allocation), except that a failed call is also
    offered to the registry's recent-error ring, which skips it rather than wait for a lock.
*/
class call_stats {
public:
    /// Error slots: one per `mailroom::error` value below this, slot 0 for anything else.
    static constexpr std::size_t error_slots = 48;

    call_stats(registry* owner, side s, std::string ns, std::string server_type,
               std::string service, std::string method, std::string server_id = {});

    /// A call started.
    void started() noexcept { started_.fetch_add(1, std::memory_order_relaxed); }

    /** A call ended with `ec` (the remote's own error included). `peer` names the other end
        for the recent-error ring (may be empty).
    */
    void completed(std::error_code ec, std::string_view peer = {}) noexcept
    {
        calls_.fetch_add(1, std::memory_order_relaxed);
        if (ec) [[unlikely]]
            count_error(ec, peer);
    }

    /// One call's latency, for the histogram (every call's, or a sample's).
    void timed(std::chrono::nanoseconds elapsed) noexcept { latency_.record(elapsed); }

    /// @ref completed and @ref timed at once.
    void finished(std::chrono::nanoseconds elapsed, std::error_code ec,
                  std::string_view peer = {}) noexcept
    {
        timed(elapsed);
        completed(ec, peer);
    }

    side which() const noexcept { return side_; }
    const std::string& ns() const noexcept { return ns_; }
    const std::string& server_type() const noexcept { return server_type_; }
    const std::string& service() const noexcept { return service_; }
    const std::string& method() const noexcept { return method_; }
    /// Set for the calls to one server; empty for a method's series.
    const std::string& server_id() const noexcept { return server_id_; }

    std::uint64_t calls() const noexcept { return calls_.load(std::memory_order_relaxed); }
    /// Calls started and not completed (0 for the series of a server called, which counts
    /// no starts: its mail box has the count).
    std::uint64_t in_flight() const noexcept
    {
        // Calls first: a call that completes meanwhile is then counted in neither.
        const auto done = calls_.load(std::memory_order_relaxed);
        const auto started = started_.load(std::memory_order_relaxed);
        return started > done ? started - done : 0;
    }
    /// Errors counted in slot `i` (see @ref error_slots).
    std::uint64_t errors_in(std::size_t i) const noexcept
    {
        return errors_[i].load(std::memory_order_relaxed);
    }
    const histogram& latency() const noexcept { return latency_; }

private:
    void count_error(std::error_code ec, std::string_view peer) noexcept;

    registry* owner_;
    side side_;
    std::string ns_, server_type_, service_, method_, server_id_;
    // In flight = started - calls: one increment per call at each end, no decrement.
    std::atomic<std::uint64_t> started_{0};
    std::atomic<std::uint64_t> calls_{0};
    std::array<std::atomic<std::uint64_t>, error_slots> errors_{};
    histogram latency_;
};

/** Whether to time this call: true for one call in `every` (a power of two) on each
    thread. Reading the clock twice costs more than the rest of a call's metrics together
    (about 50 ns each on a busy virtual machine): the histograms time a sample, the counters
    count every call.
*/
inline bool sample_latency(std::uint32_t every) noexcept
{
    thread_local std::uint32_t tick = 0;
    return (++tick & (every - 1)) == 0;
}

/// Counts the end of a call started at `start` (zero: not timed) in `s`.
inline void finish_call(call_stats& s, std::chrono::steady_clock::time_point start,
                        std::error_code ec, std::string_view peer) noexcept
{
    if (start != std::chrono::steady_clock::time_point{})
        s.timed(std::chrono::steady_clock::now() - start);
    s.completed(ec, peer);
}

/** One call being measured: the series it counts in (its method's, and the server's it was
    sent to), and when it started if it is timed. Empty (no series) when metrics are off.
*/
struct call_meter {
    call_stats* method = nullptr;
    call_stats* peer = nullptr;
    std::uint32_t sample_every = 1;
    std::chrono::steady_clock::time_point start{}; // zero: not timed

    explicit operator bool() const noexcept { return method != nullptr; }

    /// Counts the start of the call (in flight from now); a sampled call is timed.
    void begin() noexcept
    {
        method->started();
        if (sample_latency(sample_every))
            start = std::chrono::steady_clock::now();
    }

    /// Counts the end of the call, once.
    void finish(std::error_code ec, std::string_view peer_name = {}) noexcept
    {
        if (!method)
            return;
        if (start != std::chrono::steady_clock::time_point{}) {
            const auto elapsed = std::chrono::steady_clock::now() - start;
            method->timed(elapsed);
            if (peer)
                peer->timed(elapsed);
        }
        method->completed(ec, peer_name);
        if (peer)
            peer->completed(ec, peer_name);
        method = nullptr;
    }
};

} // namespace mailroom::metrics
