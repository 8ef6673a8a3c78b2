#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/frame.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using mailroom::frame;

std::string body_of(const frame& f) { return {f.body().data(), f.body().size()}; }

TEST(Frame, SmallFrameStaysInline)
{
    frame f;
    const auto cap = f.capacity();
    EXPECT_EQ(cap, frame::inline_capacity);
    std::string s(frame::inline_capacity - frame::header_size, 'x');
    f.write(s.data(), s.size());
    EXPECT_EQ(f.capacity(), cap) << "a frame that fits must not allocate";
    EXPECT_EQ(body_of(f), s);
}

TEST(Frame, GrowsPastInlineAndKeepsBytes)
{
    frame f;
    std::string expected;
    for (int i = 0; i < 1000; ++i) {
        std::string piece = std::to_string(i) + ",";
        f.write(piece.data(), piece.size());
        expected += piece;
    }
    EXPECT_EQ(body_of(f), expected);
    EXPECT_GE(f.capacity(), expected.size() + frame::header_size);
    auto w = f.wire();
    ASSERT_EQ(w.size(), expected.size() + 4);
    const auto n = (std::uint32_t(std::uint8_t(w[0])) << 24) | (std::uint32_t(std::uint8_t(w[1])) << 16) |
                   (std::uint32_t(std::uint8_t(w[2])) << 8) | std::uint32_t(std::uint8_t(w[3]));
    EXPECT_EQ(n, expected.size());
}

TEST(Frame, LargeWriteLeavesRoomForATail)
{
    frame f;
    std::string big(4096, 'a');
    f.write(big.data(), big.size());
    const auto cap = f.capacity();
    f.write("1234567", 7); // the request metadata after the arguments
    EXPECT_EQ(f.capacity(), cap) << "the tail after a large argument must not reallocate";
}

TEST(Frame, MoveAndCopyKeepContentBothWays)
{
    for (std::size_t size : {std::size_t{10}, std::size_t{5000}}) {
        frame a;
        std::string s(size, 'q');
        a.write(s.data(), s.size());
        frame b(a); // copy
        EXPECT_EQ(body_of(b), s);
        frame c(std::move(a));
        EXPECT_EQ(body_of(c), s);
        EXPECT_EQ(a.body_size(), 0u) << "a moved-from frame is empty";
        a.write("z", 1); // and usable
        EXPECT_EQ(body_of(a), "z");
        frame d;
        d = std::move(c);
        EXPECT_EQ(body_of(d), s);
        d = b;
        EXPECT_EQ(body_of(d), s);
        std::vector<frame> v;
        for (int i = 0; i < 50; ++i)
            v.push_back(b); // reallocation moves them
        for (const auto& f : v)
            EXPECT_EQ(body_of(f), s);
    }
}

TEST(Frame, ClearKeepsCapacity)
{
    frame f;
    std::string big(3000, 'b');
    f.write(big.data(), big.size());
    const auto cap = f.capacity();
    f.clear();
    EXPECT_EQ(f.body_size(), 0u);
    EXPECT_EQ(f.capacity(), cap);
    f.write("x", 1);
    EXPECT_EQ(body_of(f), "x");
}

TEST(Frame, UsualRequestAndResponseFitInline)
{
    frame req;
    mailroom::protocol::encode_request(req, 123456789, {"user", "chat", "chatRemote", "add"},
                                       std::tuple{std::string(64, 'p')}, 30000);
    EXPECT_EQ(req.capacity(), frame::inline_capacity);
    frame resp;
    mailroom::protocol::encode_response(resp, 123456789, std::string(64, 'p'));
    EXPECT_EQ(resp.capacity(), frame::inline_capacity);
}

} // namespace
