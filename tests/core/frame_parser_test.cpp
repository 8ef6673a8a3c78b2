#include <mailroom/protocol/frame_parser.hpp>
// Test that header file is self-contained.

#include <mailroom/error.hpp>
#include <mailroom/protocol/frame.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
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

// --- frame_parser: the adaptive buffer (prepare() without a size) ------------------------

/// Feeds `data` the way a socket would: each read gets at most `read_max` bytes, and at most
/// the region prepare() offers. Returns the frames completed along the way.
std::vector<std::string> feed_adaptive(frame_parser& p, std::span<const char> data,
                                       std::size_t read_max, std::error_code& ec)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        auto region = p.prepare();
        EXPECT_GE(region.size(), 1u);
        const std::size_t n = std::min({region.size(), read_max, data.size() - pos});
        std::copy_n(data.data() + pos, n, region.data());
        p.commit(n);
        pos += n;
        while (auto body = p.next(ec))
            out.push_back(as_string(*body));
        if (ec)
            break;
    }
    return out;
}

/// One read that fills the whole region prepare() offers with zero-length frames, then takes
/// them all (every byte is consumed). Returns the region's size.
std::size_t fill_read(frame_parser& p, std::error_code& ec)
{
    auto region = p.prepare();
    std::fill(region.begin(), region.end(), '\0');
    p.commit(region.size());
    while (p.next(ec)) {
    }
    return region.size();
}

TEST(FrameParserBuffer, StartsSmallAndAllocatesNothingBeforeTheFirstRead)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    EXPECT_EQ(p.capacity(), 0u);
    EXPECT_EQ(p.prepare().size(), 4096u);
    EXPECT_EQ(p.capacity(), 4096u);
}

TEST(FrameParserBuffer, DefaultsToFourKiBGrowingToSixtyFourKiB)
{
    frame_parser p(8 << 20);
    EXPECT_EQ(p.prepare().size(), frame_parser::default_initial_read_size);
    EXPECT_EQ(frame_parser::default_initial_read_size, 4096u);
    EXPECT_EQ(frame_parser::default_max_read_size, 65536u);
}

TEST(FrameParserBuffer, GrowsGeometricallyWhileReadsFillItUpToTheMaximumRead)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 8; ++i) {
        // A stream of zero-length frames: every byte is consumed, every read fills.
        std::error_code ec;
        sizes.push_back(fill_read(p, ec));
        ASSERT_FALSE(ec);
        ASSERT_EQ(p.buffered(), 0u);
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{4096, 8192, 16384, 32768, 65536, 65536, 65536,
                                               65536}));
    EXPECT_EQ(p.read_size(), 65536u);
}

TEST(FrameParserBuffer, ReturnsToTheInitialSizeOnceReadsAreSmallAndTheBufferIsDrained)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    std::error_code ec;
    // A burst: reads fill the buffer until it reaches 64 KiB.
    for (int i = 0; i < 5; ++i)
        fill_read(p, ec);
    ASSERT_EQ(p.capacity(), 65536u);
    // Then small reads (one 100-byte frame each): the size halves every 8 of them.
    const bytes w = wire_of(std::string(96, 'x'));
    for (int i = 0; i < 64; ++i)
        ASSERT_EQ(feed_adaptive(p, w, w.size(), ec).size(), 1u);
    EXPECT_EQ(p.read_size(), 4096u);
    p.prepare();
    EXPECT_EQ(p.capacity(), 4096u);
}

TEST(FrameParserBuffer, AFrameLargerThanTheBufferGetsABufferOfItsSizeThenShrinks)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    const std::string big(1 << 20, 'b');
    const bytes w = wire_of(big);
    std::error_code ec;
    std::size_t largest = 0;
    std::size_t pos = 0;
    std::vector<std::string> got;
    while (pos < w.size()) {
        auto region = p.prepare();
        largest = std::max(largest, p.capacity());
        const std::size_t n = std::min(region.size(), w.size() - pos);
        std::copy_n(w.data() + pos, n, region.data());
        p.commit(n);
        pos += n;
        while (auto body = p.next(ec))
            got.push_back(as_string(*body));
    }
    ASSERT_FALSE(ec);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], big);
    // Exactly the frame, allocated once its prefix was known, not 64 KiB steps.
    EXPECT_EQ(largest, w.size());
    // Drained: the next read gets a small buffer again (the first read filled its 4 KiB,
    // so the adaptive size is 8 KiB now).
    EXPECT_EQ(p.prepare().size(), p.read_size());
    EXPECT_LE(p.capacity(), 8192u);
}

TEST(FrameParserBuffer, AFrameLargerThanTheMaximumReadGrowsTheBufferAsItsBytesArrive)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    const bytes w = wire_of(std::string(200'000, 'r'));
    feed(p, std::span<const char>(w.data(), 10)); // prefix and a little of the body
    EXPECT_LE(p.prepare().size(), std::size_t{64} << 10) << "not the whole frame at once";
    // Reads as large as offered: the buffer doubles, ends holding the frame, and it parses.
    std::size_t pos = 10, reads = 0, largest = 0;
    std::error_code ec;
    std::optional<std::string> got;
    while (pos < w.size()) {
        auto region = p.prepare();
        const std::size_t n = std::min(region.size(), w.size() - pos);
        std::copy_n(w.data() + pos, n, region.data());
        p.commit(n);
        pos += n;
        ++reads;
        largest = std::max(largest, p.capacity());
        if (auto body = p.next(ec))
            got = as_string(*body);
    }
    ASSERT_FALSE(ec);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->size(), 200'000u);
    // 4 KiB, 8 KiB, ... 128 KiB, then the rest: the buffer doubles (log2 of the frame size
    // over the initial read), instead of one read per 64 KiB.
    EXPECT_LE(reads, 7u);
    EXPECT_LE(largest, w.size()) << "never more than the frame";
}

TEST(FrameParserBuffer, APrefixAnnouncingTheLimitReservesNoMoreThanTheReadSize)
{
    // Issue 16: a peer that sends only a prefix of exactly the limit, on many links.
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    feed(p, prefix_only(8 << 20));
    std::error_code ec;
    EXPECT_FALSE(p.next(ec));
    EXPECT_FALSE(ec);
    p.prepare();
    EXPECT_LE(p.capacity(), std::size_t{64} << 10);
    // One more byte of body does not change that either.
    const char one = 'x';
    auto region = p.prepare();
    region[0] = one;
    p.commit(1);
    p.prepare();
    EXPECT_LE(p.capacity(), std::size_t{64} << 10);
}

TEST(FrameParserBuffer, FramesSplitAcrossReadsOfAnySizeStillParse)
{
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> body_size(0, 20'000);
    std::vector<std::string> bodies;
    bytes stream;
    for (int i = 0; i < 400; ++i) {
        std::string body(i % 10 == 0 ? body_size(rng) : body_size(rng) / 100, '\0');
        for (std::size_t k = 0; k < body.size(); ++k)
            body[k] = static_cast<char>((i * 13 + k * 5) & 0xff);
        const bytes w = wire_of(body);
        stream.insert(stream.end(), w.begin(), w.end());
        bodies.push_back(std::move(body));
    }
    for (std::size_t read_max : {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{5},
                                 std::size_t{100}, std::size_t{4095}, std::size_t{4096},
                                 std::size_t{4097}, std::size_t{70'000}, stream.size()}) {
        frame_parser p(20'000, 64 << 10, 4 << 10);
        std::error_code ec;
        const auto got = feed_adaptive(p, stream, read_max, ec);
        ASSERT_FALSE(ec) << "reads of " << read_max;
        ASSERT_EQ(got, bodies) << "reads of " << read_max;
        EXPECT_EQ(p.buffered(), 0u);
    }
    // Random read sizes too.
    frame_parser p(20'000, 64 << 10, 4 << 10);
    std::uniform_int_distribution<std::size_t> chunk(1, 9000);
    std::vector<std::string> got;
    std::error_code ec;
    std::size_t pos = 0;
    while (pos < stream.size()) {
        auto region = p.prepare();
        const std::size_t n = std::min({region.size(), chunk(rng), stream.size() - pos});
        std::copy_n(stream.data() + pos, n, region.data());
        p.commit(n);
        pos += n;
        while (auto body = p.next(ec))
            got.push_back(as_string(*body));
        ASSERT_FALSE(ec);
    }
    EXPECT_EQ(got, bodies);
}

TEST(FrameParserBuffer, MaximumFrameSizeIsStillEnforcedWithoutAllocatingForTheFrame)
{
    frame_parser p(100'000, 64 << 10, 4 << 10);
    feed(p, prefix_only(100'001));
    std::error_code ec;
    EXPECT_FALSE(p.next(ec));
    EXPECT_EQ(ec, error::frame_too_large);
    // The announced size is not allocated.
    p.prepare();
    EXPECT_LT(p.capacity(), 100'000u);
    EXPECT_FALSE(p.next(ec));
}

TEST(FrameParserBuffer, AFrameOfExactlyTheMaximumSizeAboveTheMaximumReadParses)
{
    frame_parser p(100'000, 16 << 10, 1 << 10);
    std::error_code ec;
    const std::string body(100'000, 'm');
    const auto got = feed_adaptive(p, wire_of(body), 7'000, ec);
    ASSERT_FALSE(ec);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], body);
}

TEST(FrameParserBuffer, ReleaseFreesAnEmptyBufferAndRestartsSmall)
{
    frame_parser p(8 << 20, 64 << 10, 4 << 10);
    std::error_code ec;
    for (int i = 0; i < 5; ++i)
        fill_read(p, ec);
    ASSERT_EQ(p.read_size(), 65536u);
    EXPECT_TRUE(p.release());
    EXPECT_EQ(p.capacity(), 0u);
    EXPECT_EQ(p.read_size(), 4096u);
    EXPECT_EQ(p.prepare().size(), 4096u);
    EXPECT_TRUE(p.release());
    EXPECT_EQ(p.capacity(), 0u);
}

TEST(FrameParserBuffer, ReleaseKeepsAPartialFrame)
{
    frame_parser p(1024, 64 << 10, 4 << 10);
    const bytes w = wire_of("partial");
    feed(p, std::span<const char>(w.data(), 6));
    EXPECT_FALSE(p.release());
    feed(p, std::span<const char>(w.data() + 6, w.size() - 6));
    std::error_code ec;
    EXPECT_EQ(drain(p, ec), (std::vector<std::string>{"partial"}));
}

TEST(FrameParserBuffer, BodiesStayValidUntilTheNextPrepare)
{
    frame_parser p(1024, 64 << 10, 64);
    bytes stream = wire_of(std::string(40, 'a'));
    const bytes second = wire_of(std::string(10, 'b'));
    stream.insert(stream.end(), second.begin(), second.end());
    auto region = p.prepare();
    ASSERT_GE(region.size(), 1u);
    const std::size_t n = std::min(region.size(), stream.size());
    std::copy_n(stream.data(), n, region.data());
    p.commit(n);
    std::error_code ec;
    auto a = p.next(ec);
    ASSERT_TRUE(a);
    EXPECT_EQ(as_string(*a), std::string(40, 'a'));
}

TEST(FrameParserBuffer, CompleteFramesLeftInTheBufferStillLeaveRoomToRead)
{
    frame_parser p(1024, 64, 16);
    const bytes w = wire_of(std::string(10, 'c')); // 14 bytes
    bytes stream;
    for (int i = 0; i < 4; ++i)
        stream.insert(stream.end(), w.begin(), w.end());
    std::size_t pos = 0;
    // Never call next(): the buffer must keep offering room for more.
    while (pos < stream.size()) {
        auto region = p.prepare();
        ASSERT_GE(region.size(), 1u);
        const std::size_t n = std::min(region.size(), stream.size() - pos);
        std::copy_n(stream.data() + pos, n, region.data());
        p.commit(n);
        pos += n;
    }
    std::error_code ec;
    EXPECT_EQ(drain(p, ec).size(), 4u);
}

} // namespace
