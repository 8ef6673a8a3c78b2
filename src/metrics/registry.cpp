#include <mailroom/error.hpp>
#include <mailroom/metrics/registry.hpp>

#include <algorithm>
#include <bit>
#include <chrono>

namespace mailroom::metrics {
namespace {

using mailroom::detail::load_word;
using mailroom::detail::same_name;

/** Mixes `s` into `h` from its size and its first and last bytes: a few loads per name, no
    loop and no call (lookups run on every call; a collision only costs a comparison).
*/
inline std::uint64_t fnv(std::uint64_t h, std::string_view s) noexcept
{
    const std::size_t n = s.size();
    const char* p = s.data();
    std::uint64_t head = 0, tail = 0;
    if (n >= 8) {
        head = load_word<std::uint64_t>(p);
        tail = load_word<std::uint64_t>(p + n - 8);
    } else if (n >= 4) {
        head = load_word<std::uint32_t>(p);
        tail = load_word<std::uint32_t>(p + n - 4);
    } else if (n > 0) {
        head = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8 |
               static_cast<unsigned char>(p[n - 1]) << 16;
    }
    h = (h ^ n ^ head) * 0x9E3779B97F4A7C15ull;
    h = (h ^ tail) * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 29);
}

using detail::same_path;

constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ull;

} // namespace

/** A fixed open-addressing table of series, at most half full: lookups read atomic
    pointers without a lock; insertions take the mutex. Series are never removed.
*/
class registry::table {
public:
    table(registry* owner, side s, std::size_t max)
        : owner_(owner), side_(s), max_(std::max<std::size_t>(max, 1)),
          cells_(std::bit_ceil(max_ * 2)), mask_(cells_.size() - 1)
    {
    }

    template <class Match>
    call_stats* find(std::uint64_t hash, Match match) const noexcept
    {
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            call_stats* p = cells_[i].load(std::memory_order_acquire);
            if (!p || match(*p))
                return p;
        }
    }

    template <class Match, class Make>
    call_stats* find_or_make(std::uint64_t hash, Match match, Make make)
    {
        std::size_t i = hash & mask_;
        for (;; i = (i + 1) & mask_) {
            call_stats* p = cells_[i].load(std::memory_order_acquire);
            if (!p)
                break;
            if (match(*p))
                return p;
        }
        std::lock_guard lock(mu_);
        for (i = hash & mask_;; i = (i + 1) & mask_) { // another thread may have added it
            call_stats* p = cells_[i].load(std::memory_order_relaxed);
            if (!p)
                break;
            if (match(*p))
                return p;
        }
        if (owned_.size() >= max_) {
            if (!overflow_)
                overflow_ = std::make_unique<call_stats>(owner_, side_, "_other", "_other",
                                                         "_other", "_other");
            return overflow_.get();
        }
        owned_.push_back(make());
        cells_[i].store(owned_.back().get(), std::memory_order_release);
        return owned_.back().get();
    }

    std::vector<const call_stats*> all() const
    {
        std::lock_guard lock(mu_);
        std::vector<const call_stats*> out;
        for (const auto& p : owned_)
            out.push_back(p.get());
        if (overflow_)
            out.push_back(overflow_.get());
        return out;
    }

private:
    registry* owner_;
    side side_;
    std::size_t max_;
    std::vector<std::atomic<call_stats*>> cells_;
    std::size_t mask_;
    mutable std::mutex mu_;
    std::deque<std::unique_ptr<call_stats>> owned_;
    std::unique_ptr<call_stats> overflow_;
};

namespace {

/// The last `capacity` events. A writer that finds it busy skips its event rather than
/// wait: the hot path never blocks on it.
template <class Event>
class event_ring {
public:
    explicit event_ring(std::size_t capacity) : events_(capacity) {}

    /// Overwrites the oldest event with `fill(event)`, unless another thread is writing.
    template <class Fill>
    void offer(Fill fill) noexcept
    {
        if (events_.empty())
            return;
        std::unique_lock lock(mu_, std::try_to_lock);
        if (!lock.owns_lock())
            return;
        try {
            fill(events_[next_]); // assign() reuses each string's storage: a warm ring does not allocate
            next_ = (next_ + 1) % events_.size();
            count_ = std::min(count_ + 1, events_.size());
        } catch (...) {
        }
    }

    /// The events, oldest first.
    std::vector<Event> read() const
    {
        std::lock_guard lock(mu_);
        std::vector<Event> out;
        out.reserve(count_);
        const auto n = events_.size();
        for (std::size_t i = 0; i < count_; ++i)
            out.push_back(events_[(next_ + n - count_ + i) % n]);
        return out;
    }

private:
    mutable std::mutex mu_;
    std::vector<Event> events_; // capacity fixed at construction
    std::size_t next_ = 0;
    std::size_t count_ = 0;
};

std::uint64_t wall_ms() noexcept
{
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

} // namespace

struct registry::ring {
    ring(std::size_t errors_kept, std::size_t slow_kept) : errors(errors_kept), slow(slow_kept) {}
    event_ring<error_event> errors;
    event_ring<slow_call_event> slow;
};

registry::registry(registry_options options)
    : options_(options),
      client_(std::make_unique<table>(this, side::client, options.max_series)),
      server_(std::make_unique<table>(this, side::server, options.max_series)),
      peers_(std::make_unique<table>(this, side::client, options.max_series)),
      ring_(std::make_unique<ring>(options.recent_errors, options.recent_slow_calls))
{
    options_.slow_call = std::max(options_.slow_call, std::chrono::milliseconds(0)); // <0: off
    unknown_server_ = server_->find_or_make(
        0, [](const call_stats& s) { return s.method() == "_unknown"; }, [this] {
            return std::make_unique<call_stats>(this, side::server, "_unknown", "_unknown",
                                                "_unknown", "_unknown");
        });
}

registry::~registry() = default;

namespace {

std::uint64_t path_hash(const protocol::method_path& p) noexcept
{
    return fnv(fnv(fnv(fnv(fnv_basis, p.ns), p.server_type), p.service), p.method);
}

} // namespace

call_stats* registry::client_method(const protocol::method_path& path)
{
    return client_->find_or_make(
        path_hash(path), [&](const call_stats& s) { return same_path(s, path); }, [&] {
            return std::make_unique<call_stats>(this, side::client, std::string(path.ns),
                                                std::string(path.server_type),
                                                std::string(path.service),
                                                std::string(path.method));
        });
}

call_stats* registry::server_method(const protocol::method_path& path, bool known)
{
    if (!known)
        return unknown_server_;
    return server_->find_or_make(
        path_hash(path), [&](const call_stats& s) { return same_path(s, path); }, [&] {
            return std::make_unique<call_stats>(this, side::server, std::string(path.ns),
                                                std::string(path.server_type),
                                                std::string(path.service),
                                                std::string(path.method));
        });
}

call_stats* registry::find_server_method(const protocol::method_path& path) const noexcept
{
    return server_->find(path_hash(path), [&](const call_stats& s) { return same_path(s, path); });
}

call_stats* registry::peer(std::string_view server_id, std::string_view server_type)
{
    return peers_->find_or_make(
        fnv(fnv_basis, server_id),
        [&](const call_stats& s) { return same_name(s.server_id(), server_id); },
        [&] {
            return std::make_unique<call_stats>(this, side::client, "", std::string(server_type),
                                                "", "", std::string(server_id));
        });
}

void registry::refused(side s, std::string_view filter, std::error_code ec)
{
    const auto code = code_name(ec);
    const auto which = to_string(s);
    std::lock_guard lock(refusals_mu_);
    for (auto& r : refusals_)
        if (r.filter == filter && r.code == code && r.side == which) {
            ++r.count;
            return;
        }
    if (refusals_.size() < options_.max_series)
        refusals_.push_back({std::string(which), std::string(filter), std::string(code), 1});
}

void registry::failed(const call_stats& series, std::error_code ec, std::string_view peer) noexcept
{
    ring_->errors.offer([&](error_event& e) {
        e.time_ms = wall_ms();
        e.side.assign(to_string(series.which()));
        e.code.assign(code_name(ec));
        e.peer.assign(peer.substr(0, 128));
        e.server_type.assign(series.server_type());
        e.service.assign(series.service());
        e.method.assign(series.method());
    });
}

void registry::slow(const call_stats& series, std::chrono::nanoseconds took,
                    const trace_context& trace, std::string_view peer, std::error_code ec) noexcept
{
    ring_->slow.offer([&](slow_call_event& e) {
        e.time_ms = wall_ms();
        e.ms = std::chrono::duration<double, std::milli>(took).count();
        e.code.assign(ec ? code_name(ec) : std::string_view("ok"));
        e.peer.assign(peer.substr(0, 128));
        e.server_type.assign(series.server_type());
        e.service.assign(series.service());
        e.method.assign(series.method());
        e.trace_id = trace.trace_id_hex();
        e.span_id = trace.span_id_hex();
    });
}

namespace {

method_snapshot method_of(const call_stats& s)
{
    method_snapshot m;
    m.side = std::string(to_string(s.which()));
    m.ns = s.ns();
    m.server_type = s.server_type();
    m.service = s.service();
    m.method = s.method();
    m.calls = s.calls();
    m.in_flight = s.in_flight();
    for (std::size_t i = 0; i < call_stats::error_slots; ++i)
        if (const auto n = s.errors_in(i)) {
            const auto name =
                i == 0 ? std::string_view("other")
                       : code_name(std::error_code(static_cast<int>(i), error_category()));
            m.errors_by_code[std::string(name)] += n;
            m.errors += n;
        }
    const auto counts = s.latency().counts();
    m.buckets.assign(counts.begin(), counts.end());
    m.latency_sum_us = s.latency().sum_us();
    m.p50_ms = quantile_us(counts, 0.5) / 1000;
    m.p99_ms = quantile_us(counts, 0.99) / 1000;
    m.p999_ms = quantile_us(counts, 0.999) / 1000;
    return m;
}

} // namespace

void registry::fill(metrics_snapshot& out) const
{
    out.bucket_bounds_us.clear();
    for (std::size_t i = 0; i < histogram::bounds; ++i)
        out.bucket_bounds_us.push_back(histogram::bound_us(i));
    for (const auto* t : {client_.get(), server_.get()})
        for (const call_stats* s : t->all())
            if (s->calls() || s->in_flight())
                out.methods.push_back(method_of(*s));
    for (const call_stats* s : peers_->all()) {
        auto m = method_of(*s);
        peer_snapshot p;
        p.server_id = s->server_id();
        p.server_type = s->server_type();
        p.calls = m.calls;
        p.errors = m.errors;
        p.p50_ms = m.p50_ms;
        p.p99_ms = m.p99_ms;
        out.peers.push_back(std::move(p));
    }
    {
        std::lock_guard lock(refusals_mu_);
        out.refusals = refusals_;
    }
    out.recent_errors = ring_->errors.read();
    out.recent_slow_calls = ring_->slow.read();
    out.slow_call_ms = static_cast<std::uint64_t>(options_.slow_call.count());
}

} // namespace mailroom::metrics
