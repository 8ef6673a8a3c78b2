#include <mailroom/protocol/frame_parser.hpp>
// Test that header file is self-contained.

#include <mailroom/error.hpp>
#include <mailroom/protocol/frame.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using mailroom::error;
using mailroom::frame;
using mailroom::protocol::frame_parser;

using bytes = std::vector<char>;

/// The wire form (length prefix + body) of one frame whose body is `body`.
bytes wire_of(std::string_view body)
{
    frame f;
    f.write(body.data(), body.size());
    const auto w = f.wire();
    return {w.begin(), w.end()};
}

bytes prefix_only(std::uint32_t len)
{
    return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
            static_cast<char>(len)};
}

void feed(frame_parser& p, std::span<const char> data)
{
    auto region = p.prepare(data.size());
    ASSERT_GE(region.size(), data.size());
    std::copy(data.begin(), data.end(), region.begin());
    p.commit(data.size());
}

std::string as_string(std::span<const char> s)
{
    return {s.begin(), s.end()};
}

/// Every frame currently available, as strings.
std::vector<std::string> drain(frame_parser& p, std::error_code& ec)
{
    std::vector<std::string> out;
    while (auto body = p.next(ec))
        out.push_back(as_string(*body));
    return out;
}

// --- frame ---------------------------------------------------------------------------------

TEST(Frame, WireWritesTheBigEndianLengthOfTheBody)
{
    frame f;
    const std::string body(0x010203, 'x');
    f.write(body.data(), body.size());
    const auto w = f.wire();
    ASSERT_EQ(w.size(), body.size() + frame::header_size);
    EXPECT_EQ(static_cast<unsigned char>(w[0]), 0x00);
    EXPECT_EQ(static_cast<unsigned char>(w[1]), 0x01);
    EXPECT_EQ(static_cast<unsigned char>(w[2]), 0x02);
    EXPECT_EQ(static_cast<unsigned char>(w[3]), 0x03);
    EXPECT_EQ(w[4], 'x');
}

TEST(Frame, WireOfAnEmptyFrameIsAZeroLength)
{
    frame f;
    EXPECT_EQ(f.body_size(), 0u);
    EXPECT_TRUE(f.body().empty());
    EXPECT_EQ(bytes(f.wire().begin(), f.wire().end()), bytes(4, '\0'));
}

TEST(Frame, WireUsesAllFourLengthBytes)
{
    frame f;
    const std::string body(0x00ff, 'a'); // 255: a byte with the high bit set
    f.write(body.data(), body.size());
    EXPECT_EQ(bytes(f.wire().begin(), f.wire().begin() + 4), (bytes{0, 0, 0, '\xff'}));
    const std::string more(0x0100, 'b'); // 511 = 0x01ff
    f.write(more.data(), more.size());
    EXPECT_EQ(bytes(f.wire().begin(), f.wire().begin() + 4), (bytes{0, 0, 1, '\xff'}));
}

TEST(Frame, BodyExcludesTheLengthPrefix)
{
    frame f;
    f.write("abc", 3);
    EXPECT_EQ(as_string(f.body()), "abc");
    EXPECT_EQ(f.body_size(), 3u);
    EXPECT_EQ(as_string(f.wire()), std::string("\0\0\0\3abc", 7));
}

TEST(Frame, ClearEmptiesTheBodyForReuse)
{
    frame f;
    f.write("abcdef", 6);
    f.clear();
    EXPECT_EQ(f.body_size(), 0u);
    f.write("xy", 2);
    EXPECT_EQ(as_string(f.wire()), std::string("\0\0\0\2xy", 6));
}

// --- frame_parser --------------------------------------------------------------------------

TEST(FrameParser, ReturnsNothingUntilTheHeaderIsComplete)
{
    frame_parser p(1024);
    const bytes w = wire_of("hello");
    feed(p, std::span<const char>(w.data(), 3));
    std::error_code ec;
    EXPECT_FALSE(p.next(ec));
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.buffered(), 3u);
}

TEST(FrameParser, AssemblesAFrameDeliveredOneByteAtATime)
{
    frame_parser p(1024);
    const std::string body = "a frame split across many reads";
    const bytes w = wire_of(body);
    std::error_code ec;
    for (std::size_t i = 0; i + 1 < w.size(); ++i) {
        feed(p, std::span<const char>(&w[i], 1));
        EXPECT_FALSE(p.next(ec)) << "after byte " << i;
        EXPECT_FALSE(ec);
    }
    feed(p, std::span<const char>(&w.back(), 1));
    auto got = p.next(ec);
    ASSERT_TRUE(got);
    EXPECT_FALSE(ec);
    EXPECT_EQ(as_string(*got), body);
    EXPECT_FALSE(p.next(ec));
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameParser, ReturnsSeveralFramesFromOneCommit)
{
    frame_parser p(1024);
    bytes stream;
    for (std::string_view b : {"one", "", "three", "four!"}) {
        const bytes w = wire_of(b);
        stream.insert(stream.end(), w.begin(), w.end());
    }
    const bytes partial = wire_of("fifth");
    stream.insert(stream.end(), partial.begin(), partial.end() - 1);
    feed(p, stream);
    std::error_code ec;
    EXPECT_EQ(drain(p, ec), (std::vector<std::string>{"one", "", "three", "four!"}));
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.buffered(), partial.size() - 1);
    feed(p, std::span<const char>(&partial.back(), 1));
    EXPECT_EQ(drain(p, ec), (std::vector<std::string>{"fifth"}));
}

TEST(FrameParser, BodiesFromOneCommitStayValidUntilTheNextPrepare)
{
    frame_parser p(1024);
    bytes stream = wire_of("first");
    const bytes second = wire_of("second");
    stream.insert(stream.end(), second.begin(), second.end());
    feed(p, stream);
    std::error_code ec;
    auto a = p.next(ec);
    auto b = p.next(ec);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(as_string(*a), "first");
    EXPECT_EQ(as_string(*b), "second");
}

TEST(FrameParser, ReturnsAZeroLengthBodyAsAnEmptySpan)
{
    frame_parser p(16);
    feed(p, prefix_only(0));
    std::error_code ec;
    auto got = p.next(ec);
    ASSERT_TRUE(got);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(got->empty());
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameParser, AcceptsABodyOfExactlyTheMaximumSize)
{
    frame_parser p(100);
    const std::string body(100, 'm');
    feed(p, wire_of(body));
    std::error_code ec;
    auto got = p.next(ec);
    ASSERT_TRUE(got);
    EXPECT_FALSE(ec);
    EXPECT_EQ(as_string(*got), body);
}

TEST(FrameParser, RejectsLengthAboveMaximum)
{
    frame_parser p(100);
    EXPECT_EQ(p.max_frame_size(), 100u);
    // Rejected as soon as the prefix arrives, before any of the body.
    feed(p, prefix_only(101));
    std::error_code ec;
    EXPECT_FALSE(p.next(ec));
    EXPECT_EQ(ec, error::frame_too_large);
}

TEST(FrameParser, RejectsTheLargestPossibleLength)
{
    frame_parser p(8 << 20);
    feed(p, prefix_only(0xFFFFFFFFu));
    std::error_code ec;
    EXPECT_FALSE(p.next(ec));
    EXPECT_EQ(ec, error::frame_too_large);
}

TEST(FrameParser, ReturnsNoMoreFramesAfterAFailure)
{
    frame_parser p(100);
    bytes stream = wire_of("before");
    const std::string big(101, 'x');
    const bytes bad = wire_of(big);
    stream.insert(stream.end(), bad.begin(), bad.end());
    const bytes after = wire_of("after");
    stream.insert(stream.end(), after.begin(), after.end());
    feed(p, stream);

    std::error_code ec;
    auto first = p.next(ec);
    ASSERT_TRUE(first);
    EXPECT_EQ(as_string(*first), "before");
    EXPECT_FALSE(p.next(ec));
    EXPECT_EQ(ec, error::frame_too_large);
    for (int i = 0; i < 3; ++i) {
        feed(p, wire_of("more"));
        EXPECT_FALSE(p.next(ec)) << "call " << i << " after the failure";
    }
}

TEST(FrameParser, PrepareReturnsAtLeastTheRequestedRegion)
{
    frame_parser p(1 << 20);
    for (std::size_t n : {1u, 7u, 4096u, 65536u}) {
        auto region = p.prepare(n);
        EXPECT_GE(region.size(), n);
    }
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameParser, PartialCommitOfAPreparedRegionKeepsOnlyCommittedBytes)
{
    frame_parser p(1024);
    const bytes w = wire_of("abc");
    auto region = p.prepare(64);
    std::copy(w.begin(), w.end(), region.begin());
    std::fill(region.begin() + static_cast<std::ptrdiff_t>(w.size()), region.end(), 'z');
    p.commit(w.size());
    std::error_code ec;
    EXPECT_EQ(drain(p, ec), (std::vector<std::string>{"abc"}));
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameParser, KeepsDataIntactAcrossCompactionOverManyFrames)
{
    constexpr std::size_t frames = 10'000;
    constexpr std::size_t max_body = 300;
    constexpr std::size_t max_chunk = 1000;
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::size_t> size(0, max_body);
    std::uniform_int_distribution<std::size_t> chunk(1, max_chunk);

    std::vector<std::string> bodies;
    bytes stream;
    for (std::size_t i = 0; i < frames; ++i) {
        std::string body(size(rng), '\0');
        for (std::size_t k = 0; k < body.size(); ++k)
            body[k] = static_cast<char>((i * 31 + k * 7) & 0xff);
        const bytes w = wire_of(body);
        stream.insert(stream.end(), w.begin(), w.end());
        bodies.push_back(std::move(body));
    }

    frame_parser p(max_body);
    std::vector<std::string> got;
    std::error_code ec;
    std::size_t pos = 0;
    std::size_t largest_capacity = 0;
    while (pos < stream.size()) {
        const std::size_t n = std::min(chunk(rng), stream.size() - pos);
        feed(p, std::span<const char>(stream.data() + pos, n));
        pos += n;
        while (auto body = p.next(ec))
            got.push_back(as_string(*body));
        ASSERT_FALSE(ec);
        largest_capacity = std::max(largest_capacity, p.capacity());
    }
    EXPECT_EQ(p.buffered(), 0u);
    ASSERT_EQ(got.size(), bodies.size());
    for (std::size_t i = 0; i < frames; ++i)
        ASSERT_EQ(got[i], bodies[i]) << "frame " << i;
    // Compaction reuses the buffer: it never holds more than one partial frame plus a chunk.
    EXPECT_LE(largest_capacity, frame_parser::header_size + max_body + max_chunk);
}

} // namespace
