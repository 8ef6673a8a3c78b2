#include <mailroom/log_limiter.hpp>
// Test that header file is self-contained.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using namespace std::chrono_literals;
using mailroom::log_limiter;

TEST(LogLimiter, OneLinePerKeyAndWindowAndTheNextCarriesTheCountSuppressed)
{
    log_limiter limit({.interval = 10s, .lines_per_interval = 1});
    const auto t0 = log_limiter::clock::time_point{} + 1h;
    std::uint64_t dropped = 99;
    EXPECT_TRUE(limit.admit("10.0.0.1", t0, dropped));
    EXPECT_EQ(dropped, 0u);
    for (int i = 0; i < 1140; ++i)
        EXPECT_FALSE(limit.admit("10.0.0.1", t0 + 1ms * i, dropped));
    EXPECT_TRUE(limit.admit("10.0.0.2", t0 + 2s, dropped)) << "keys are independent";
    EXPECT_EQ(dropped, 0u);
    EXPECT_FALSE(limit.admit("10.0.0.1", t0 + 9999ms, dropped));
    EXPECT_TRUE(limit.admit("10.0.0.1", t0 + 10s, dropped));
    EXPECT_EQ(dropped, 1141u);
    EXPECT_EQ(limit.suppressed_total(), 1141u);
    EXPECT_FALSE(limit.admit("10.0.0.1", t0 + 11s, dropped));
}

TEST(LogLimiter, SeveralLinesPerWindow)
{
    log_limiter limit({.interval = 1s, .lines_per_interval = 3});
    const auto t0 = log_limiter::clock::time_point{} + 1h;
    std::uint64_t dropped = 0;
    int written = 0;
    for (int i = 0; i < 100; ++i)
        written += limit.admit("a", t0 + 5ms * i, dropped); // 0 .. 495 ms
    EXPECT_EQ(written, 3);
    EXPECT_TRUE(limit.admit("a", t0 + 1s, dropped));
    EXPECT_EQ(dropped, 97u);
}

TEST(LogLimiter, ZeroIntervalWritesEverything)
{
    log_limiter limit({.interval = 0ms});
    std::uint64_t dropped = 0;
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(limit.admit("a", log_limiter::clock::time_point{}, dropped));
    EXPECT_EQ(limit.keys(), 0u);
}

TEST(LogLimiter, TheTableIsBoundedWhateverTheNumberOfKeys)
{
    log_limiter limit({.interval = 10s, .lines_per_interval = 1, .max_keys = 16});
    const auto t0 = log_limiter::clock::time_point{} + 1h;
    std::uint64_t dropped = 0;
    int written = 0;
    for (int i = 0; i < 1000; ++i)
        written += limit.admit("10.0." + std::to_string(i), t0, dropped);
    EXPECT_LE(limit.keys(), 17u);
    EXPECT_LE(written, 17) << "new keys share one entry while the table is full";
    // Windows that ended free their keys.
    EXPECT_TRUE(limit.admit("fresh", t0 + 20s, dropped));
    EXPECT_LE(limit.keys(), 17u);
}

TEST(LogLimiter, PeerHostDropsThePort)
{
    EXPECT_EQ(mailroom::peer_host("127.0.0.1:50312"), "127.0.0.1");
    EXPECT_EQ(mailroom::peer_host("[::1]:4000"), "[::1]");
    EXPECT_EQ(mailroom::peer_host("::1"), "::1");
    EXPECT_EQ(mailroom::peer_host("host"), "host");
    EXPECT_EQ(mailroom::peer_host(""), "");
}

} // namespace
