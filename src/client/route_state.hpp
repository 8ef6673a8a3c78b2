#pragma once

#include <mailroom/client/route_context.hpp>
#include <mailroom/client/route_param.hpp>
#include <mailroom/detail/string_map.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace mailroom::detail {

/** One `T` per server type, for the state of a built-in route function (a round-robin
    position, a cached ring), so calls to one type never disturb another's. The first 64
    types are found without a lock (a scan of a table that only grows, published by its
    size); more types than that share a locked map (whose nodes never move).
*/
template <class T>
class per_type {
public:
    T& of(std::string_view server_type)
    {
        const std::size_t n = size_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < n; ++i)
            if (entries_[i].type == server_type)
                return entries_[i].value;
        std::lock_guard lock(mu_);
        const std::size_t now = size_.load(std::memory_order_relaxed);
        for (std::size_t i = n; i < now; ++i)
            if (entries_[i].type == server_type)
                return entries_[i].value;
        if (now < entries_.size()) {
            entries_[now].type = std::string(server_type);
            size_.store(now + 1, std::memory_order_release);
            return entries_[now].value;
        }
        auto it = overflow_.find(server_type);
        if (it == overflow_.end())
            it = overflow_.try_emplace(std::string(server_type)).first;
        return it->second;
    }

private:
    struct entry {
        std::string type; // written once, before size_ publishes it
        T value{};
    };
    std::array<entry, 64> entries_;
    std::atomic<std::size_t> size_{0};
    std::mutex mu_; // guards adding entries and overflow_
    string_map<T> overflow_;
};

/** A structure derived from one version of the server table (a ring, a schedule), shared by
    every thread routing on that version and rebuilt when the version changes. Two threads
    that see a new version at once may both build it; the first one kept wins, and both use
    it (a schedule's position is never split between two copies).
*/
template <class T>
class versioned_cache {
public:
    /// The structure for `version`, built by `build()` (which returns a `shared_ptr<T>`, `T`
    /// with a `version` member) if the one kept is for another version.
    template <class Build>
    std::shared_ptr<T> get(std::uint64_t version, Build&& build)
    {
        auto kept = ptr_.load(std::memory_order_acquire);
        if (kept && kept->version == version)
            return kept;
        std::shared_ptr<T> fresh = build();
        while (!ptr_.compare_exchange_weak(kept, fresh, std::memory_order_acq_rel,
                                           std::memory_order_acquire))
            if (kept && kept->version == version)
                return kept; // another thread kept one first
        return fresh;
    }

private:
    std::atomic<std::shared_ptr<T>> ptr_;
};

/// splitmix64's finaliser: a cheap, well-mixed 64-bit permutation.
inline std::uint64_t mix64(std::uint64_t z) noexcept
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// A lock-free random source: splitmix64 over an atomic counter (no per-thread state).
class shared_random {
public:
    explicit shared_random(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept
    {
        return mix64(state_.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed));
    }

private:
    std::atomic<std::uint64_t> state_;
};

/** `list[i]` if it is up; if it is down, an even choice among the servers of `list` that
    are up (the `spread % up`-th of them), so a down server's share is spread over the others
    instead of landing on its neighbour; `list[i]` when none is up (the call then fails at
    once with the server's connect error).
*/
inline const server_info* up_or_spread(const route_context& ctx,
                                       std::span<const server_info* const> list, std::size_t i,
                                       std::uint64_t spread) noexcept
{
    if (!ctx.down(*list[i]))
        return list[i];
    std::size_t up = 0;
    for (const server_info* s : list)
        up += ctx.down(*s) ? 0 : 1;
    if (up == 0)
        return list[i];
    std::uint64_t k = spread % up;
    for (const server_info* s : list)
        if (!ctx.down(*s) && k-- == 0)
            return s;
    return list[i];
}

/// A number route parameter as its decimal string, as pomelo hashes `uid.toString()`.
class decimal_key {
public:
    explicit decimal_key(const route_param& p) noexcept
    {
        char* first = buf_;
        if (p.negative())
            *first++ = '-';
        size_ = static_cast<std::size_t>(std::to_chars(first, buf_ + sizeof buf_, p.number()).ptr -
                                         buf_);
    }
    std::string_view view() const noexcept { return {buf_, size_}; }

private:
    char buf_[24];
    std::size_t size_;
};

} // namespace mailroom::detail
