#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mailroom::metrics {

/** A latency histogram with fixed log-scale buckets: bucket i counts latencies up to
    `bound_us(i)` = 16 µs × 2^i (16 µs ... 33.6 s), the last bucket everything above.

    Recording is two relaxed atomic increments: no lock, no allocation, safe from any number
    of threads. Readers see each counter exactly, but not all counters at one instant (a call
    recorded while a snapshot is read may be in the sum and not yet in a bucket).

    @par Thread safety
    All member functions may be called concurrently.

    @par Example
    @code
    mailroom::metrics::histogram h;
    h.record(std::chrono::microseconds(250));
    double p99 = mailroom::metrics::quantile_us(h.counts(), 0.99);
    @endcode
*/
class histogram {
public:
    /// Finite bounds; there is one more bucket, unbounded.
    static constexpr std::size_t bounds = 22;
    static constexpr std::size_t buckets = bounds + 1;

    /// The upper bound of bucket `i` (< bounds), in microseconds.
    static constexpr std::uint64_t bound_us(std::size_t i) noexcept { return 16ull << i; }

    /// The bucket a latency of `us` microseconds falls in.
    static constexpr std::size_t bucket_of(std::uint64_t us) noexcept
    {
        if (us <= 16)
            return 0;
        const auto b = static_cast<std::size_t>(std::bit_width(us - 1)) - 4;
        return b < bounds ? b : bounds;
    }

    void record(std::chrono::nanoseconds elapsed) noexcept
    {
        const auto ns = elapsed.count() < 0 ? 0 : static_cast<std::uint64_t>(elapsed.count());
        const auto us = (ns + 999) / 1000;
        counts_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
        sum_us_.fetch_add(us, std::memory_order_relaxed);
    }

    /// The count of each bucket (not cumulative).
    std::array<std::uint64_t, buckets> counts() const noexcept
    {
        std::array<std::uint64_t, buckets> out{};
        for (std::size_t i = 0; i < buckets; ++i)
            out[i] = counts_[i].load(std::memory_order_relaxed);
        return out;
    }

    /// The sum of every latency recorded, in microseconds (each rounded up).
    std::uint64_t sum_us() const noexcept { return sum_us_.load(std::memory_order_relaxed); }

private:
    std::array<std::atomic<std::uint64_t>, buckets> counts_{};
    std::atomic<std::uint64_t> sum_us_{0};
};

/** The `q` quantile (0..1) of the latencies counted in `counts` (one count per bucket of
    @ref histogram), in microseconds: linear inside the bucket it falls in (from 0 for the
    first one), the last finite bound for the unbounded bucket. 0 when nothing was counted.
*/
double quantile_us(std::span<const std::uint64_t> counts, double q) noexcept;

} // namespace mailroom::metrics
