#pragma once

#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/metrics/histogram.hpp>
#include <mailroom/trace_context.hpp>

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

namespace detail {

/** Counter cells (see call_stats): each of the first `counter_cells` threads that count gets
    a cell index of its own until it exits, where an increment is a plain load and store; any
    further thread counts in the shared cell, index `counter_cells`, with atomic increments.
*/
inline constexpr std::size_t counter_cells = 8;
inline constexpr std::size_t counter_cell_unclaimed = ~std::size_t{0};
inline thread_local std::size_t counter_cell_index = counter_cell_unclaimed;
/// Bit i: cell i has an owning thread. Beside the index, with the same linkage, so that a
/// process never has one without the other.
inline std::atomic<std::uint32_t> counter_cells_taken{0};

/// Claims a cell for this thread (or the shared one) and releases it when the thread exits.
std::size_t claim_counter_cell() noexcept;

/// This thread's cell index.
inline std::size_t this_thread_counter_cell() noexcept
{
    const auto i = counter_cell_index;
    if (i == counter_cell_unclaimed) [[unlikely]]
        return claim_counter_cell();
    return i;
}

} // namespace detail

/** The counters of one series of calls: a method on one end (side, namespace, server type,
    service, method), or the calls this App made to one server (`server_id` set).

    Made by a @ref registry, which owns it and never frees it while it lives: a pointer to
    it stays valid for the registry's lifetime.

    Calls and starts are counted per thread, as brpc's bvar does: a thread adds to a cell
    of its own (a cache line; no other thread writes it), so counting a call costs a plain
    load and store instead of a locked instruction; readers add the cells up. A process's
    first eight counting threads (an App's I/O threads) get cells of their own; any more
    share one cell with atomic increments.

    @par Thread safety
    All member functions may be called concurrently; `started`, `completed` and `timed`
    take no lock and never allocate, except that a failed call is also offered to the
    registry's recent-error ring, which skips it rather than wait for a lock.
*/
class call_stats {
public:
    /// Error slots: one per `mailroom::error` value below this, slot 0 for anything else.
    static constexpr std::size_t error_slots = 48;

    call_stats(registry* owner, side s, std::string ns, std::string server_type,
               std::string service, std::string method, std::string server_id = {});

    /// A call started (not timed).
    void started() noexcept { add(&cell::started); }

    /** A call started at `now` (detail::deadline_clock): counts it, and says whether to
        time it (see @ref sample).
    */
    bool started(std::chrono::steady_clock::time_point now) noexcept
    {
        const auto i = detail::this_thread_counter_cell();
        bump(cells_[i].started, i);
        return sample(cells_[i], now);
    }

    /** Whether to time a call of this series that starts at `now` (detail::deadline_clock):
        true for the first registry_options::timed_calls_per_window calls that start on this
        thread in each window of 2^22 ns (4.2 ms) of that clock.
    */
    bool sample(std::chrono::steady_clock::time_point now) noexcept
    {
        return sample(cells_[detail::this_thread_counter_cell()], now);
    }

    /** A call ended with `ec` (the remote's own error included). `peer` names the other end
        for the recent-error ring (may be empty).
    */
    void completed(std::error_code ec, std::string_view peer = {}) noexcept
    {
        add(&cell::calls);
        if (ec) [[unlikely]]
            count_error(ec, peer);
    }

    /// One call's latency, for the histogram (every call's, or a sample's).
    void timed(std::chrono::nanoseconds elapsed) noexcept { latency_.record(elapsed); }

    /** A served call that arrived at `began` (detail::deadline_clock; zero: not watched)
        was answered now: how long it took if that is at least registry_options::slow_call,
        else zero. `timed` is its precise duration if it was one of the timed sample, else
        zero (the coarse clock then tells).
    */
    std::chrono::nanoseconds slow(std::chrono::steady_clock::time_point began,
                                  std::chrono::nanoseconds timed) const noexcept
    {
        if (slow_.count() == 0 || began == std::chrono::steady_clock::time_point{})
            return {};
        const auto took = timed.count() ? timed : mailroom::detail::deadline_clock::now() - began;
        return took >= slow_ ? took : std::chrono::nanoseconds(0);
    }

    /// Offers a slow call (see @ref slow) to the registry's slow-call ring.
    void report_slow(std::chrono::nanoseconds took, const trace_context& trace,
                     std::string_view peer, std::error_code ec) noexcept;

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

    std::uint64_t calls() const noexcept { return sum(&cell::calls); }
    /// Calls started and not completed (0 for the series of a server called, which counts
    /// no starts: its mail box has the count).
    std::uint64_t in_flight() const noexcept
    {
        // Calls first: a call that completes meanwhile is then counted in neither.
        const auto done = sum(&cell::calls);
        const auto started = sum(&cell::started);
        return started > done ? started - done : 0;
    }
    /// Errors counted in slot `i` (see @ref error_slots).
    std::uint64_t errors_in(std::size_t i) const noexcept
    {
        return errors_[i].load(std::memory_order_relaxed);
    }
    const histogram& latency() const noexcept { return latency_; }

private:
    struct alignas(64) cell {
        std::atomic<std::uint64_t> started{0};
        std::atomic<std::uint64_t> calls{0};
        // The sample (see sample(now)): the window of the last call started, and the calls
        // timed in it.
        std::atomic<std::chrono::steady_clock::rep> window{0};
        std::atomic<std::uint32_t> timed{0};
    };
    using counter = std::atomic<std::uint64_t> cell::*;

    void add(counter which) noexcept
    {
        const auto i = detail::this_thread_counter_cell();
        bump(cells_[i].*which, i);
    }

    bool sample(cell& c, std::chrono::steady_clock::time_point now) noexcept
    {
        // Plain loads and stores even in the shared cell: a race there times a call more or
        // one less, and counts nothing wrong.
        const auto window = now.time_since_epoch().count() >> 22;
        std::uint32_t n = 0;
        if (c.window.load(std::memory_order_relaxed) == window)
            n = c.timed.load(std::memory_order_relaxed);
        else
            c.window.store(window, std::memory_order_relaxed);
        if (n >= timed_per_window_)
            return false;
        c.timed.store(n + 1, std::memory_order_relaxed);
        return true;
    }

    /// Adds one to `c`, a counter of cell `i`.
    static void bump(std::atomic<std::uint64_t>& c, std::size_t i) noexcept
    {
        if (i < detail::counter_cells) // this thread's own: no other writer
            c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        else
            c.fetch_add(1, std::memory_order_relaxed);
    }

    std::uint64_t sum(counter which) const noexcept
    {
        std::uint64_t n = 0;
        for (const auto& c : cells_)
            n += (c.*which).load(std::memory_order_relaxed);
        return n;
    }

    void count_error(std::error_code ec, std::string_view peer) noexcept;

    registry* owner_;
    side side_;
    std::string ns_, server_type_, service_, method_, server_id_;
    std::chrono::nanoseconds slow_{0}; // the owner's slow_call; 0: not watched
    std::uint32_t timed_per_window_;   // the owner's timed_calls_per_window
    // In flight = started - calls: one increment per call at each end, no decrement.
    std::array<cell, detail::counter_cells + 1> cells_{};
    std::array<std::atomic<std::uint64_t>, error_slots> errors_{};
    histogram latency_;
};

/** Counts the end of a call started at `start` (zero: not timed) in `s`: how long it took
    if it was timed, else zero.
*/
inline std::chrono::nanoseconds finish_call(call_stats& s,
                                            std::chrono::steady_clock::time_point start,
                                            std::error_code ec, std::string_view peer) noexcept
{
    std::chrono::nanoseconds elapsed{0};
    if (start != std::chrono::steady_clock::time_point{}) {
        elapsed = std::chrono::steady_clock::now() - start;
        s.timed(elapsed);
    }
    s.completed(ec, peer);
    return elapsed;
}

/** One call being measured: the series it counts in (its method's, and the server's it was
    sent to), and when it started if it is timed. Empty (no series) when metrics are off.
*/
struct call_meter {
    call_stats* method = nullptr;
    call_stats* peer = nullptr;
    std::chrono::steady_clock::time_point start{}; // zero: not timed

    explicit operator bool() const noexcept { return method != nullptr; }

    /// Counts the start of the call at `now` (detail::deadline_clock; in flight from now),
    /// timed if its method's sample or its server's takes it (see call_stats::sample): a
    /// server reached only by the later calls of a fan-out is timed too.
    void begin(std::chrono::steady_clock::time_point now) noexcept
    {
        const bool by_method = method->started(now);
        if ((peer && peer->sample(now)) || by_method)
            start = std::chrono::steady_clock::now();
    }

    /// Counts the end of the call, once; a failure names the server called, if known.
    void finish(std::error_code ec) noexcept
    {
        if (!method)
            return;
        const auto peer_name =
            ec && peer ? std::string_view(peer->server_id()) : std::string_view();
        const auto elapsed = finish_call(*method, start, ec, peer_name);
        if (peer) {
            if (elapsed.count())
                peer->timed(elapsed);
            peer->completed(ec, peer_name);
        }
        method = nullptr;
    }
};

} // namespace mailroom::metrics
