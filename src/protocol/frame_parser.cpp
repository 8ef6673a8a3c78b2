#include <mailroom/error.hpp>
#include <mailroom/protocol/frame_parser.hpp>

#include <cstdint>
#include <cstring>

namespace mailroom::protocol {

std::span<char> frame_parser::prepare(std::size_t n)
{
    // Compact first so a long-lived connection reuses one buffer instead of growing.
    if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buf_.size() - end_ < n)
        buf_.resize(end_ + n);
    return {buf_.data() + end_, buf_.size() - end_};
}

std::optional<std::span<const char>> frame_parser::next(std::error_code& ec)
{
    ec = {};
    if (failed_)
        return std::nullopt;
    if (end_ - begin_ < header_size)
        return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + begin_);
    const std::size_t len = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    if (len > max_frame_size_) {
        failed_ = true;
        ec = error::frame_too_large;
        return std::nullopt;
    }
    if (end_ - begin_ < header_size + len)
        return std::nullopt;
    std::span<const char> body{buf_.data() + begin_ + header_size, len};
    begin_ += header_size + len;
    return body;
}

} // namespace mailroom::protocol
