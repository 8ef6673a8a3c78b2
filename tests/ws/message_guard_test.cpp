#include "message_guard.hpp"
// Test that header file is self-contained.

// The bound on one WebSocket message's frames and duration, fed with bytes and a clock only.

#include <mailroom/ws/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using mailroom::ws::ws_error;
using mailroom::ws::detail::message_guard;
using clock_type = message_guard::clock;

/// A masked client frame header (payload bytes are zeros).
std::string frame(bool fin, unsigned opcode, std::size_t len)
{
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out += static_cast<char>(0x80 | len);
    } else if (len < 65536) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(len >> 8);
        out += static_cast<char>(len);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int s = 56; s >= 0; s -= 8)
            out += static_cast<char>(std::uint64_t(len) >> s);
    }
    out += "\x01\x02\x03\x04";
    return out + std::string(len, '\0');
}

const auto t0 = clock_type::time_point{} + 1h;

TEST(WsMessageGuard, WholeMessagesAndControlFramesNeverTrip)
{
    message_guard g(3, 1s);
    std::string bytes;
    for (int i = 0; i < 100; ++i)
        bytes += frame(true, 2, 10) + frame(true, 9, 0);
    bytes += frame(true, 2, 70'000) + frame(true, 2, 300);
    EXPECT_FALSE(g.feed(bytes, t0));
    EXPECT_EQ(g.frames(), 0u);
}

TEST(WsMessageGuard, AMessageOfTooManyFramesTrips)
{
    message_guard g(3, 0ms);
    std::string bytes = frame(false, 2, 1) + frame(false, 0, 0) + frame(true, 9, 4) + frame(false, 0, 0);
    EXPECT_FALSE(g.feed(bytes, t0)) << "three data frames; the ping does not count";
    EXPECT_EQ(g.frames(), 3u);
    EXPECT_EQ(g.feed(frame(false, 0, 0), t0), ws_error::unfinished_message);
    EXPECT_EQ(g.feed(frame(true, 2, 1), t0), ws_error::unfinished_message) << "sticky";
}

TEST(WsMessageGuard, FramesSplitAcrossReadsAreCountedOnce)
{
    message_guard g(1000, 0ms);
    std::string bytes = frame(false, 2, 200);
    for (int i = 0; i < 998; ++i)
        bytes += frame(false, 0, 0);
    bytes += frame(true, 0, 130);
    for (char c : bytes) // one byte per read
        ASSERT_FALSE(g.feed({&c, 1}, t0));
    EXPECT_EQ(g.frames(), 0u) << "the message ended after exactly 1,000 frames";
    std::string more = frame(false, 2, 1);
    for (int i = 0; i < 1000; ++i)
        more += frame(false, 0, 0);
    EXPECT_EQ(g.feed(more, t0), ws_error::unfinished_message);
}

TEST(WsMessageGuard, AMessageThatRunsPastItsTimeTrips)
{
    message_guard g(0, 100ms);
    EXPECT_FALSE(g.feed(frame(false, 2, 1), t0));
    EXPECT_FALSE(g.feed(frame(false, 0, 0), t0 + 60ms));
    EXPECT_FALSE(g.check(t0 + 100ms));
    EXPECT_EQ(g.check(t0 + 101ms), ws_error::unfinished_message) << "a timer sees it too";

    message_guard idle(0, 100ms);
    EXPECT_FALSE(idle.feed(frame(true, 2, 5), t0));
    EXPECT_FALSE(idle.check(t0 + 1h)) << "between messages the clock does not run";
}

} // namespace
