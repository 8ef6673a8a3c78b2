#include "message_guard.hpp"

#include <mailroom/ws/error.hpp>

#include <algorithm>
#include <cstring>

namespace mailroom::ws::detail {
namespace {

/// The length of a frame header whose first two bytes are `b0 b1`.
std::size_t header_size(unsigned char b1) noexcept
{
    const unsigned len = b1 & 0x7f;
    return 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

} // namespace

std::error_code message_guard::feed(std::span<const char> bytes, clock::time_point now) noexcept
{
    std::size_t off = 0;
    while (off < bytes.size() && !tripped_) {
        if (skip_ > 0) {
            const auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(skip_, bytes.size() - off));
            skip_ -= n;
            off += n;
            continue;
        }
        // Gather the header: two bytes tell its size.
        const std::size_t need = have_ < 2 ? 2 : header_size(header_[1]);
        const std::size_t n = std::min(need - have_, bytes.size() - off);
        std::memcpy(header_.data() + have_, bytes.data() + off, n);
        have_ += n;
        off += n;
        if (have_ >= 2 && have_ == header_size(header_[1]))
            on_header(now);
    }
    return check(now);
}

void message_guard::on_header(clock::time_point now) noexcept
{
    const unsigned char b0 = header_[0], b1 = header_[1];
    std::uint64_t len = b1 & 0x7f;
    if (len == 126) {
        len = (std::uint64_t(header_[2]) << 8) | header_[3];
    } else if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; ++i)
            len = (len << 8) | header_[i];
    }
    have_ = 0;
    skip_ = len;
    if (b0 & 0x08)
        return; // a control frame: not part of the message
    if (!in_message_) {
        in_message_ = true;
        frames_ = 0;
        started_ = now;
    }
    ++frames_;
    if (max_frames_ > 0 && frames_ > max_frames_)
        tripped_ = true;
    if (b0 & 0x80) {
        in_message_ = false;
        frames_ = 0;
    }
}

std::error_code message_guard::check(clock::time_point now) noexcept
{
    if (!tripped_ && in_message_ && max_time_.count() > 0 && now - started_ > max_time_)
        tripped_ = true;
    return tripped_ ? std::error_code(ws_error::unfinished_message) : std::error_code();
}

} // namespace mailroom::ws::detail
