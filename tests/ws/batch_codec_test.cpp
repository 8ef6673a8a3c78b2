#include "batch_codec.hpp"
// Test that header file is self-contained.

// The mailroom.batch framing (docs/protocol.md, section 1.1), without sockets: how a sender
// splits its queued frames into messages, and how a receiver checks and splits a message.

#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using mailroom::ws::detail::batch_message_max;
using mailroom::ws::detail::decode_batch;
using mailroom::ws::detail::message_limit;
using mailroom::ws::detail::plan_messages;

/// A frame in wire form: 4-byte big-endian length, then `body`.
std::string wire(const std::string& body)
{
    const auto n = body.size();
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
    return out + body;
}

std::vector<std::string> strings(const std::vector<std::span<const char>>& spans)
{
    std::vector<std::string> out;
    for (auto s : spans)
        out.emplace_back(s.data(), s.size());
    return out;
}

TEST(WsBatchCodec, TheLimitIsSixtyFourKiBOrOneFrameWithItsPrefix)
{
    EXPECT_EQ(message_limit(true, 1024), batch_message_max);
    EXPECT_EQ(message_limit(true, 8u << 20), (8u << 20) + 4);
    EXPECT_EQ(message_limit(false, 1024), 1024u);
}

TEST(WsBatchCodec, QueuedFramesLeaveInOneMessage)
{
    const std::string q = wire("a") + wire("bc") + wire("");
    std::vector<std::span<const char>> out;
    plan_messages(q, true, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::string(out[0].data(), out[0].size()), q);
}

TEST(WsBatchCodec, WithoutBatchesEachBodyTravelsAloneWithoutItsPrefix)
{
    const std::string q = wire("a") + wire("bc") + wire("def");
    std::vector<std::span<const char>> out;
    plan_messages(q, false, out);
    EXPECT_EQ(strings(out), (std::vector<std::string>{"a", "bc", "def"}));
}

TEST(WsBatchCodec, ABurstIsSplitBetweenFramesAndALargeFrameTravelsAlone)
{
    const std::string small = wire(std::string(30'000, 's'));
    const std::string large = wire(std::string(100'000, 'L'));
    const std::string q = small + small + small + large + small;
    std::vector<std::span<const char>> out;
    plan_messages(q, true, out);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].size(), 2 * small.size()); // a third would pass 64 KiB
    EXPECT_EQ(out[1].size(), small.size());
    EXPECT_EQ(out[2].size(), large.size());
    EXPECT_EQ(out[3].size(), small.size());
    std::size_t total = 0;
    for (auto m : out) {
        EXPECT_EQ(m.data(), q.data() + total) << "in order, back to back";
        total += m.size();
    }
    EXPECT_EQ(total, q.size());
}

TEST(WsBatchCodec, AMessageSplitsIntoItsBodiesInOrder)
{
    const std::string m = wire("one") + wire("") + wire("three");
    std::vector<std::span<const char>> bodies;
    EXPECT_FALSE(decode_batch(m, 1024, bodies));
    EXPECT_EQ(strings(bodies), (std::vector<std::string>{"one", "", "three"}));
    EXPECT_FALSE(decode_batch({}, 1024, bodies));
    EXPECT_TRUE(bodies.empty()) << "an empty message has no frames";
}

TEST(WsBatchCodec, AMessageEndingInsideAFrameIsRefusedWhole)
{
    const std::string good = wire("hello");
    std::vector<std::span<const char>> bodies;
    for (std::size_t cut : {1, 3, 4, 6}) {
        const std::string m = good + good.substr(0, cut);
        EXPECT_EQ(decode_batch(m, 1024, bodies), mailroom::ws::ws_error::truncated_frame) << cut;
        EXPECT_TRUE(bodies.empty()) << cut;
    }
}

TEST(WsBatchCodec, ALengthAboveTheLimitIsTooLargeEvenIfTheBodyIsCut)
{
    std::vector<std::span<const char>> bodies;
    const std::string m = wire("ok") + wire(std::string(2000, 'x')).substr(0, 10);
    EXPECT_EQ(decode_batch(m, 1024, bodies), mailroom::error::frame_too_large);
    EXPECT_TRUE(bodies.empty());
    EXPECT_FALSE(decode_batch(wire(std::string(1024, 'x')), 1024, bodies)) << "the limit is inclusive";
}

TEST(WsBatchCodec, WhatASenderPlansAReceiverDecodes)
{
    std::string q;
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) {
        sent.emplace_back(static_cast<std::size_t>(i * 97 % 3000), static_cast<char>('a' + i % 26));
        q += wire(sent.back());
    }
    std::vector<std::span<const char>> messages, bodies;
    plan_messages(q, true, messages);
    std::vector<std::string> received;
    for (auto m : messages) {
        EXPECT_LE(m.size(), batch_message_max);
        ASSERT_FALSE(decode_batch(m, 4096, bodies));
        for (auto b : bodies)
            received.emplace_back(b.data(), b.size());
    }
    EXPECT_EQ(received, sent);
}

} // namespace
