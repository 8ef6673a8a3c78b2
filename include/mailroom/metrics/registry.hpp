#pragma once

#include <mailroom/detail/same_name.hpp>
#include <mailroom/metrics/call_stats.hpp>
#include <mailroom/metrics/snapshot.hpp>
#include <mailroom/protocol/message.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailroom::metrics {

namespace detail {

/// Whether `s` is the series of `p`'s method (names compared, most distinctive first).
inline bool same_path(const call_stats& s, const protocol::method_path& p) noexcept
{
    using mailroom::detail::same_name;
    return same_name(s.method(), p.method) && same_name(s.service(), p.service) &&
           same_name(s.server_type(), p.server_type) && same_name(s.ns(), p.ns);
}

} // namespace detail

/** Where a caller keeps the client series of the one method it calls (a typed stub keeps
    one per method, through call_options::series): the first registry to count a call through
    it finds the series once, by name; its later calls read it back instead of comparing
    names. Calls counted by another registry find their series as if there were no slot.
    A copy starts empty, and so does a slot assigned to (a stub assigned another stub's
    method then finds that method's series).

    @par Thread safety
    May be used by calls on any thread, concurrently.
*/
class series_slot {
public:
    series_slot() noexcept = default;
    series_slot(const series_slot&) noexcept {}
    series_slot& operator=(const series_slot&) noexcept
    {
        stats_.store(nullptr, std::memory_order_relaxed);
        owner_.store(0, std::memory_order_relaxed);
        return *this;
    }

private:
    friend class registry;
    // The owner's id is set first, once; a reader that sees the series sees the id.
    std::atomic<std::uint64_t> owner_{0};
    std::atomic<call_stats*> stats_{nullptr};
};

/// Options of a @ref registry.
struct registry_options {
    /// Series kept per table (client methods, server methods, servers called); calls of any
    /// further one count in a series named "_other". Default: 1,024.
    std::size_t max_series = 1'024;
    /// Failed calls the recent-error ring keeps. Default: 64.
    std::size_t recent_errors = 64;
    /** The latency histograms time, in each series and on each thread, the first this many
        calls that start in each window of 2^22 ns (4.2 ms) of the coarse clock
        (detail::deadline_clock): every call of a series that makes fewer, and at most about
        240 times this many a second per thread (1,900 by default) of a busy one, whatever
        the clock's tick. A client call is timed if its method's sample or its server's
        takes it. Calls, errors and in-flight count every call. Reading the precise clock is
        the dearest part of a call's metrics (it waits for the instructions before it to
        finish: 24 ns in a loop on a virtual machine, more in a running server), so a busy
        series reads it for a sample only; the coarse clock, read for every call anyway,
        costs a few ns. Each window weighs the same in the histogram, however many calls it
        had. 0 times no call; UINT32_MAX every call. Default: 8.
    */
    std::uint32_t timed_calls_per_window = 8;
    /** A call this App serves that takes at least this long, from its arrival to its
        answer, goes to the slow-call ring with its trace id (the status page lists them).
        Every served call is checked, with the coarse clock (one more read of it per call);
        0 turns the ring off. Default: 100 ms.
    */
    std::chrono::milliseconds slow_call{100};
    /// Slow calls the ring keeps. Default: 32.
    std::size_t recent_slow_calls = 32;
};

/** The metrics of one App: a series of @ref call_stats per method on each end and per server
    called, the refusals of filters, and a ring of the most recent failed calls.

    Finding a series takes no lock once it exists (a fixed open-addressing table of atomic
    pointers, compared by name, filled under a mutex); a series is never freed while the
    registry lives, so a call holds a plain pointer to it. The number of series is bounded
    (@ref registry_options::max_series): names a peer invents cannot grow it without limit.

    @par Thread safety
    All member functions may be called concurrently.

    @par Example
    @code
    mailroom::metrics::registry reg;
    auto* s = reg.client_method({"user", "chat", "chatRemote", "add"});
    s->started(); s->finished(std::chrono::microseconds(80), {});
    @endcode
*/
class registry {
public:
    explicit registry(registry_options options = {});
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// The series of calls this App makes to `path` (made on first use).
    call_stats* client_method(const protocol::method_path& path);

    /** The same, through a one-entry cache per thread: a stream of calls to one method (the
        usual case) compares the names with the series found last instead of hashing them.
    */
    call_stats* client_method_cached(const protocol::method_path& path)
    {
        thread_local cache_entry last;
        if (last.owner == id_ && last.stats && detail::same_path(*last.stats, path))
            return last.stats;
        last = {id_, client_method(path)};
        return last.stats;
    }

    /** The same, kept in `slot` (see @ref series_slot): `slot` must only ever be used for
        `path`.
    */
    call_stats* client_method(const protocol::method_path& path, series_slot& slot)
    {
        if (auto* s = slot.stats_.load(std::memory_order_acquire);
            s && slot.owner_.load(std::memory_order_relaxed) == id_)
            return s;
        auto* s = client_method_cached(path);
        if (std::uint64_t none = 0; slot.owner_.compare_exchange_strong(
                none, id_, std::memory_order_relaxed, std::memory_order_relaxed))
            slot.stats_.store(s, std::memory_order_release);
        return s;
    }

    /** The series of calls this App serves for `path`. Only methods the server knows get a
        series of their own: pass `known = false` for a call that names none, counted under
        "_unknown" (so a caller cannot fill the table with invented names).
    */
    call_stats* server_method(const protocol::method_path& path, bool known = true);

    /// The series of served calls for `path` if it exists already, else null (no lock).
    call_stats* find_server_method(const protocol::method_path& path) const noexcept;

    /// The series of calls this App makes to server `server_id` (made on first use).
    call_stats* peer(std::string_view server_id, std::string_view server_type);

    /// The same, through a one-entry cache per thread (see @ref client_method_cached).
    call_stats* peer_cached(std::string_view server_id, std::string_view server_type)
    {
        thread_local cache_entry last;
        if (last.owner == id_ && last.stats &&
            mailroom::detail::same_name(last.stats->server_id(), server_id))
            return last.stats;
        last = {id_, peer(server_id, server_type)};
        return last.stats;
    }

    /// A filter named `filter` refused a call with `ec`.
    void refused(side s, std::string_view filter, std::error_code ec);

    /// Offers a failed call to the recent-error ring; skipped if another thread is writing it.
    void failed(const call_stats& series, std::error_code ec, std::string_view peer) noexcept;

    /// Offers a slow call served in `series` to the slow-call ring (see call_stats::slow);
    /// skipped if another thread is writing it.
    void slow(const call_stats& series, std::chrono::nanoseconds took, const trace_context& trace,
              std::string_view peer, std::error_code ec) noexcept;

    /// See registry_options::slow_call.
    std::chrono::milliseconds slow_call() const noexcept { return options_.slow_call; }

    /// See registry_options::timed_calls_per_window.
    std::uint32_t timed_calls_per_window() const noexcept
    {
        return options_.timed_calls_per_window;
    }

    /// Fills `methods`, `peers` (calls only: state and queues come from the station),
    /// `refusals`, `recent_errors`, `recent_slow_calls` and `bucket_bounds_us` of `out`.
    void fill(metrics_snapshot& out) const;

private:
    // Keyed by the registry's id, never its address: the next registry may get the address
    // of one destroyed, whose series the cache must then never touch.
    struct cache_entry {
        std::uint64_t owner = 0;
        call_stats* stats = nullptr;
    };

    static std::uint64_t next_id() noexcept
    {
        static std::atomic<std::uint64_t> n{0};
        return n.fetch_add(1, std::memory_order_relaxed) + 1;
    }

    class table;
    struct ring;

    const std::uint64_t id_ = next_id(); // unique in the process, never 0
    registry_options options_;
    std::unique_ptr<table> client_, server_, peers_;
    call_stats* unknown_server_ = nullptr;
    mutable std::mutex refusals_mu_;
    std::vector<refusal_snapshot> refusals_;
    std::unique_ptr<ring> ring_;
};

} // namespace mailroom::metrics
