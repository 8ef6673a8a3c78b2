#include <mailroom/error.hpp>
#include <mailroom/protocol/frame_parser.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace mailroom::protocol {

namespace {

/// Reads in a row that used at most a quarter of the region before it halves.
constexpr unsigned shrink_after_small_reads = 8;

std::size_t read_length(const char* at) noexcept
{
    const auto* p = reinterpret_cast<const unsigned char*>(at);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

} // namespace

frame_parser::frame_parser(std::size_t max_frame_size, std::size_t max_read_size,
                           std::size_t initial_read_size) noexcept
    : max_frame_size_(max_frame_size), max_read_(std::max<std::size_t>(max_read_size, 1)),
      initial_(std::clamp<std::size_t>(initial_read_size, 1, max_read_)), target_(initial_)
{
}

void frame_parser::compact() noexcept
{
    if (begin_ == 0)
        return;
    if (end_ > begin_)
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
}

void frame_parser::reallocate(std::size_t cap)
{
    // Not zero-filled: only the bytes a read writes are ever touched (and made resident).
    auto fresh = std::make_unique_for_overwrite<char[]>(cap);
    const std::size_t n = buffered();
    if (n > 0)
        std::memcpy(fresh.get(), buf_.get() + begin_, n);
    buf_ = std::move(fresh);
    cap_ = cap;
    begin_ = 0;
    end_ = n;
}

std::size_t frame_parser::pending_frame_size() const noexcept
{
    if (buffered() < header_size)
        return 0;
    const std::size_t len = read_length(buf_.get() + begin_);
    if (len > max_frame_size_)
        return 0; // next() reports it
    return header_size + len;
}

std::span<char> frame_parser::prepare()
{
    const std::size_t frame = pending_frame_size();
    const bool for_frame = frame > target_;
    std::size_t want = std::max(target_, header_size);
    // A frame above the read size grows the buffer with its bytes (doubling, at most to the
    // whole frame), never from its prefix alone: a peer that sends only a prefix announcing
    // the frame limit must not make this link reserve the limit (issue 16).
    if (frame > want)
        want = std::min(frame, std::max(want, 2 * buffered()));
    if (buffered() == 0) {
        begin_ = end_ = 0;
        // Empty and larger than needed (after a burst or a large frame): give it back.
        if (cap_ > want)
            buf_.reset(), cap_ = 0;
    } else {
        compact();
        if (want <= buffered()) // complete frames the caller has not taken yet
            want = buffered() + target_;
    }
    if (cap_ < want)
        reallocate(want);
    adaptive_region_ = !for_frame;
    last_region_ = cap_ - end_;
    return {buf_.get() + end_, cap_ - end_};
}

std::span<char> frame_parser::prepare(std::size_t n)
{
    // Compact first so a long-lived connection reuses one buffer instead of growing.
    compact();
    if (cap_ - end_ < n)
        reallocate(end_ + n);
    adaptive_region_ = false;
    last_region_ = cap_ - end_;
    return {buf_.get() + end_, cap_ - end_};
}

void frame_parser::commit(std::size_t n) noexcept
{
    end_ += n;
    if (!adaptive_region_)
        return;
    if (n >= last_region_) {
        // The read filled what it was given: more is probably waiting.
        target_ = std::min(target_ * 2, max_read_);
        small_reads_ = 0;
    } else if (n <= target_ / 4 && target_ > initial_) {
        if (++small_reads_ >= shrink_after_small_reads) {
            target_ = std::max(target_ / 2, initial_);
            small_reads_ = 0;
        }
    } else {
        small_reads_ = 0;
    }
}

std::optional<std::span<const char>> frame_parser::next(std::error_code& ec)
{
    ec = {};
    if (failed_)
        return std::nullopt;
    if (end_ - begin_ < header_size)
        return std::nullopt;
    const std::size_t len = read_length(buf_.get() + begin_);
    if (len > max_frame_size_) {
        failed_ = true;
        ec = error::frame_too_large;
        return std::nullopt;
    }
    if (end_ - begin_ < header_size + len)
        return std::nullopt;
    std::span<const char> body{buf_.get() + begin_ + header_size, len};
    begin_ += header_size + len;
    return body;
}

bool frame_parser::release() noexcept
{
    target_ = initial_;
    small_reads_ = 0;
    if (buffered() != 0 || !buf_)
        return false;
    buf_.reset();
    cap_ = begin_ = end_ = 0;
    return true;
}

} // namespace mailroom::protocol
