#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace mailroom::ws::detail {

/** Watches the WebSocket frame headers a peer sends (the bytes under Beast's parser) and
    bounds each data message by its count of frames and by its duration, which Beast does
    not: it consumes empty continuation frames inside one read without ever completing it,
    so a peer that opens a fragmented message and then sends only empty continuations would
    hold its link (and a read) forever while adding nothing to the message size.

    Sans-I/O: it takes bytes and the time, and returns `ws_error::unfinished_message` once a
    message took more than `max_frames` data frames, or more than `max_time` from its first
    frame header (then the error is sticky). Control frames do not count and may come
    between fragments. It only skips payloads; a malformed header is Beast's to refuse.
*/
class message_guard {
public:
    using clock = std::chrono::steady_clock;

    message_guard(std::size_t max_frames, std::chrono::milliseconds max_time) noexcept
        : max_frames_(max_frames), max_time_(max_time)
    {
    }

    /// Bytes the peer sent, in order, received at `now`.
    std::error_code feed(std::span<const char> bytes, clock::time_point now) noexcept;

    /// For a periodic check: the current message has run past `max_time`.
    std::error_code check(clock::time_point now) noexcept;

    /// Data frames of the message being received (0 between messages).
    std::size_t frames() const noexcept { return frames_; }

private:
    void on_header(clock::time_point now) noexcept;

    const std::size_t max_frames_;
    const std::chrono::milliseconds max_time_;
    std::array<unsigned char, 14> header_{};
    std::size_t have_ = 0;       // header bytes gathered
    std::uint64_t skip_ = 0;     // payload bytes still to skip
    bool in_message_ = false;
    std::size_t frames_ = 0;
    clock::time_point started_{};
    bool tripped_ = false;
};

} // namespace mailroom::ws::detail
