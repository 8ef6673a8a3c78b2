#include <mailroom/detail/deadline_clock.hpp>
// Test that header file is self-contained.

#include <gtest/gtest.h>

#include <chrono>

namespace {

using mailroom::detail::deadline_clock;
using std::chrono::steady_clock;

// Within a coarse tick (<= 10 ms, else it is steady_clock itself) of steady_clock, either way.
TEST(DeadlineClock, StaysWithinATickOfSteadyClock)
{
    for (int i = 0; i < 1000; ++i) {
        const auto before = steady_clock::now();
        const auto t = deadline_clock::now();
        const auto after = steady_clock::now();
        ASSERT_GE(t, before - std::chrono::milliseconds(10)) << "sample " << i;
        ASSERT_LE(t, after + std::chrono::milliseconds(10)) << "sample " << i;
    }
}

TEST(DeadlineClock, NeverGoesBack)
{
    auto last = deadline_clock::now();
    for (int i = 0; i < 100'000; ++i) {
        const auto t = deadline_clock::now();
        ASSERT_GE(t, last) << "sample " << i;
        last = t;
    }
}

} // namespace
