#include "batch_codec.hpp"

#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <algorithm>
#include <cstdint>

namespace mailroom::ws::detail {
namespace {

std::size_t load32(const char* p) noexcept
{
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) | (std::size_t(b[2]) << 8) |
           std::size_t(b[3]);
}

} // namespace

std::size_t message_limit(bool batch, std::size_t max_frame_size) noexcept
{
    return batch ? std::max(batch_message_max, max_frame_size + 4) : max_frame_size;
}

void plan_messages(std::span<const char> wire, bool batch, std::vector<std::span<const char>>& out)
{
    out.clear();
    const std::size_t total = wire.size();
    if (!batch) {
        for (std::size_t off = 0; off + 4 <= total;) {
            const std::size_t len = load32(wire.data() + off);
            out.push_back(wire.subspan(off + 4, len));
            off += 4 + len;
        }
        return;
    }
    if (total <= batch_message_max) {
        if (total > 0)
            out.push_back(wire);
        return;
    }
    std::size_t start = 0, off = 0;
    while (off + 4 <= total) {
        const std::size_t size = 4 + load32(wire.data() + off);
        if (off > start && off + size - start > batch_message_max) {
            out.push_back(wire.subspan(start, off - start));
            start = off;
        }
        off += size;
    }
    out.push_back(wire.subspan(start, off - start));
}

std::error_code decode_batch(std::span<const char> message, std::size_t max_frame_size,
                             std::vector<std::span<const char>>& bodies)
{
    bodies.clear();
    const std::size_t n = message.size();
    for (std::size_t off = 0; off < n;) {
        if (n - off < 4) {
            bodies.clear();
            return ws_error::truncated_frame;
        }
        const std::size_t len = load32(message.data() + off);
        if (len > max_frame_size) {
            bodies.clear();
            return error::frame_too_large;
        }
        if (n - off - 4 < len) {
            bodies.clear();
            return ws_error::truncated_frame;
        }
        bodies.push_back(message.subspan(off + 4, len));
        off += 4 + len;
    }
    return {};
}

} // namespace mailroom::ws::detail
