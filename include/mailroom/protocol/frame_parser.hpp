#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace mailroom::protocol {

/** Splits a byte stream into length-prefixed frames (sans-I/O).

    Wire format: a 4-byte big-endian body length, then the body. A length above the maximum
    frame size is `error::frame_too_large`; the stream is unusable after any error.

    The I/O side reads into @ref prepare, reports the count with @ref commit, then calls
    @ref next until it returns no frame. A body returned by @ref next stays valid until the
    next call to @ref prepare.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    auto n = socket.read_some(asio::buffer(parser.prepare(64 * 1024)));
    parser.commit(n);
    while (auto body = parser.next(ec)) handle(*body);
    @endcode
*/
class frame_parser {
public:
    /// Length of the prefix in bytes.
    static constexpr std::size_t header_size = 4;

    /// @param max_frame_size largest body accepted, in bytes.
    explicit frame_parser(std::size_t max_frame_size) : max_frame_size_(max_frame_size) {}

    /// A writable region of at least `n` bytes at the end of the unread data.
    std::span<char> prepare(std::size_t n);

    /// Marks `n` bytes of the region returned by @ref prepare as received.
    void commit(std::size_t n) noexcept { end_ += n; }

    /** The next complete frame body, if one is buffered.

        Sets `ec` to `error::frame_too_large` when a prefix announces a body above the maximum;
        once it has failed, the parser returns no more frames.
    */
    std::optional<std::span<const char>> next(std::error_code& ec);

    /// Bytes received and not yet returned as frames.
    std::size_t buffered() const noexcept { return end_ - begin_; }

    /// Capacity currently held, in bytes (for memory accounting).
    std::size_t capacity() const noexcept { return buf_.size(); }

    std::size_t max_frame_size() const noexcept { return max_frame_size_; }

private:
    std::vector<char> buf_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t max_frame_size_;
    bool failed_ = false;
};

} // namespace mailroom::protocol
