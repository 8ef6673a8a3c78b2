#pragma once

#include <chrono>
#include <ctime>

namespace mailroom::detail {

/** The time from which call deadlines are computed: `steady_clock`'s timeline read from the
    kernel's coarse clock (`CLOCK_MONOTONIC_COARSE`, updated once per tick, read without
    touching the clock source: a few nanoseconds instead of tens on a virtual machine),
    plus one tick, so that it is usually a little ahead of `steady_clock::now()`: at most one
    tick (1-4 ms on Linux) later. The coarse clock can lag by more than a tick for a moment
    (right after the process was idle, or at a tick boundary; up to ~0.5 ms more was seen),
    so it can also be that much earlier. A deadline made from it is accurate to about a tick
    either way, which is what a timeout of milliseconds to seconds needs. Elsewhere it is
    `steady_clock::now()`.
*/
struct deadline_clock {
    using time_point = std::chrono::steady_clock::time_point;

    static time_point now() noexcept
    {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        timespec ts;
        if (tick.count() > 0 && ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
            return time_point(std::chrono::duration_cast<time_point::duration>(
                std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec) + tick));
#endif
        return std::chrono::steady_clock::now();
    }

private:
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    // Zero (use steady_clock) unless the coarse clock exists and is coarse by at most 10 ms.
    static std::chrono::nanoseconds resolution() noexcept
    {
        timespec res;
        if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || res.tv_sec != 0 ||
            res.tv_nsec > 10'000'000)
            return std::chrono::nanoseconds(0);
        return std::chrono::nanoseconds(res.tv_nsec);
    }

    // Set when the program starts, not on first use: a read tests no guard. A read made by
    // another static initialiser before this one ran sees zero, and uses steady_clock (a
    // thread such an initialiser starts must not read it meanwhile).
    static inline const std::chrono::nanoseconds tick = resolution();
#endif
};

} // namespace mailroom::detail
