// The frame parser (src/protocol/frame_parser.cpp) against a reference split of the same
// stream: bytes 0-3 choose the limits and the read pattern, the rest is what a peer sends.
// Invariants: the frames returned are exactly the reference's, in order, byte for byte; the
// only error is frame_too_large, reported once the prefix that exceeds the limit has
// arrived, and no frame follows it; the buffer never holds more than one frame plus one read.
#include "fuzz_check.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/frame_parser.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

using mailroom::protocol::frame_parser;

namespace {

std::size_t load32(const char* p)
{
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) | (std::size_t(b[2]) << 8) |
           std::size_t(b[3]);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 4)
        return 0;
    // 255 stands for the default 8 MiB limit: a prefix up to it is a frame still arriving.
    const std::size_t max_frame = data[0] == 255 ? (8u << 20) : std::size_t{data[0]} * 3;
    const std::size_t max_read = 1 + std::size_t{data[1]} * 2;
    const std::size_t initial = 1 + data[2] % 64;
    mailroom::fuzz::rng rng(data[3] * 2654435761u);
    const std::span<const char> stream(reinterpret_cast<const char*>(data) + 4, size - 4);

    // The reference: frames split from the whole stream, up to the first oversized prefix.
    std::vector<std::span<const char>> expected;
    bool expect_error = false;
    for (std::size_t off = 0; stream.size() - off >= 4;) {
        const std::size_t len = load32(stream.data() + off);
        if (len > max_frame) {
            expect_error = true;
            break;
        }
        if (stream.size() - off - 4 < len)
            break;
        expected.push_back(stream.subspan(off + 4, len));
        off += 4 + len;
    }

    frame_parser parser(max_frame, max_read, initial);
    std::size_t got = 0;
    bool failed = false;
    std::size_t fed = 0;
    const std::size_t bound = std::max({max_read, max_frame + frame_parser::header_size,
                                        frame_parser::header_size}) + 64;
    while (fed < stream.size() && !failed) {
        const auto r = rng.next();
        std::span<char> region;
        if (r % 16 == 0)
            region = parser.prepare(1 + (r >> 8) % 64); // the fixed-size variant
        else
            region = parser.prepare();
        MAILROOM_FUZZ_CHECK(!region.empty());
        // A read returns anything from one byte to the whole region.
        const std::size_t n = std::min({region.size(), stream.size() - fed,
                                        std::size_t{1} + (r >> 16) % 97});
        std::memcpy(region.data(), stream.data() + fed, n);
        parser.commit(n);
        fed += n;
        std::error_code ec;
        while (auto body = parser.next(ec)) {
            MAILROOM_FUZZ_CHECK(got < expected.size());
            MAILROOM_FUZZ_CHECK(body->size() == expected[got].size());
            MAILROOM_FUZZ_CHECK(std::memcmp(body->data(), expected[got].data(), body->size()) == 0);
            ++got;
        }
        if (ec) {
            MAILROOM_FUZZ_CHECK(ec == mailroom::error::frame_too_large);
            MAILROOM_FUZZ_CHECK(expect_error && got == expected.size());
            failed = true;
            std::error_code again;
            MAILROOM_FUZZ_CHECK(!parser.next(again) && !again); // stays failed, quietly
            break;
        }
        MAILROOM_FUZZ_CHECK(parser.capacity() <= bound);
        if (r % 32 == 1 && parser.buffered() == 0)
            MAILROOM_FUZZ_CHECK(parser.release());
    }
    if (!failed) {
        MAILROOM_FUZZ_CHECK(got == expected.size());
        // The error comes as soon as the whole oversized prefix is in.
        MAILROOM_FUZZ_CHECK(!expect_error);
    }
    return 0;
}
