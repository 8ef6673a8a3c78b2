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
    All member functions may be called concurrently; `started` and `finished` are relaxed
    atomic increments (no lock, no allocation), except that a failed call is also offered to
    the registry's recent-error ring, which skips it rather than wait for a lock.
*/
class call_stats {
public:
    /// Error slots: one per `mailroom::error` value below this, slot 0 for anything else.
    static constexpr std::size_t error_slots = 48;

    call_stats(registry* owner, side s, std::string ns, std::string server_type,
               std::string service, std::string method, std::string server_id = {});

    /// A call started.
    void started() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }

    /** A call started with @ref started ended after `elapsed`, with `ec` (the remote's own
        error included). `peer` names the other end for the recent-error ring (may be empty).
    */
    void finished(std::chrono::nanoseconds elapsed, std::error_code ec,
                  std::string_view peer = {}) noexcept;

    side which() const noexcept { return side_; }
    const std::string& ns() const noexcept { return ns_; }
    const std::string& server_type() const noexcept { return server_type_; }
    const std::string& service() const noexcept { return service_; }
    const std::string& method() const noexcept { return method_; }
    /// Set for the calls to one server; empty for a method's series.
    const std::string& server_id() const noexcept { return server_id_; }

    std::uint64_t calls() const noexcept { return calls_.load(std::memory_order_relaxed); }
    std::uint64_t in_flight() const noexcept
    {
        // `finished` may be counted before a racing reader sees `started`: never below 0.
        const auto n = in_flight_.load(std::memory_order_relaxed);
        return static_cast<std::int64_t>(n) < 0 ? 0 : n;
    }
    /// Errors counted in slot `i` (see @ref error_slots).
    std::uint64_t errors_in(std::size_t i) const noexcept
    {
        return errors_[i].load(std::memory_order_relaxed);
    }
    const histogram& latency() const noexcept { return latency_; }

private:
    registry* owner_;
    side side_;
    std::string ns_, server_type_, service_, method_, server_id_;
    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> in_flight_{0};
    std::array<std::atomic<std::uint64_t>, error_slots> errors_{};
    histogram latency_;
};

/** One call being measured: the series it counts in (its method's, and the server's it was
    sent to), and when it started. Empty (no series) when metrics are off.
*/
struct call_meter {
    call_stats* method = nullptr;
    call_stats* peer = nullptr;
    std::chrono::steady_clock::time_point start{};

    explicit operator bool() const noexcept { return method != nullptr; }

    /// Counts the start of the call (in flight from now).
    void begin() noexcept
    {
        method->started();
        if (peer)
            peer->started();
        start = std::chrono::steady_clock::now();
    }

    /// Counts the end of the call, once.
    void finish(std::error_code ec, std::string_view peer_name = {}) noexcept
    {
        if (!method)
            return;
        const auto elapsed = std::chrono::steady_clock::now() - start;
        method->finished(elapsed, ec, peer_name);
        if (peer)
            peer->finished(elapsed, ec, peer_name);
        method = nullptr;
    }
};

} // namespace mailroom::metrics
