#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

namespace mailroom::protocol {

/** Splits a byte stream into length-prefixed frames (sans-I/O).

    Wire format: a 4-byte big-endian body length, then the body. A length above the maximum
    frame size is `error::frame_too_large`; the stream is unusable after any error.

    The I/O side reads into @ref prepare, reports the count with @ref commit, then calls
    @ref next until it returns no frame. A body returned by @ref next stays valid until the
    next call to @ref prepare or @ref release.

    @par Memory
    The buffer is allocated on the first @ref prepare, never zero-filled, and sized by the
    traffic (as Netty's adaptive receive buffers are): `prepare()` (no argument) starts at
    `initial_read_size` bytes, doubles the next read's size, up to `max_read_size`, each time
    a read fills the region it was given, and halves it again after 8 reads in a row that
    used at most a quarter of it. A frame larger than the read size grows the buffer as its
    bytes arrive, doubling what is buffered, up to exactly that frame: a prefix alone never
    reserves the announced size (a peer could announce the limit on every link and send
    nothing more). Whenever the buffer is empty when
    `prepare()` is called and holds more than the current read size, it shrinks back to that
    size, so a link that was busy returns to a small buffer. @ref release frees the buffer
    of an idle link (nothing buffered) altogether and restarts at the initial size.
    `prepare(n)` is the fixed-size variant: at least `n` bytes, growing exactly as needed.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    auto n = socket.read_some(asio::buffer(parser.prepare()));
    parser.commit(n);
    while (auto body = parser.next(ec)) handle(*body);
    @endcode
*/
class frame_parser {
public:
    /// Length of the prefix in bytes.
    static constexpr std::size_t header_size = 4;
    /// Default size of the first read (and of an idle link's buffer), in bytes.
    static constexpr std::size_t default_initial_read_size = 4u << 10;
    /// Default largest read `prepare()` asks for when no large frame is pending, in bytes.
    static constexpr std::size_t default_max_read_size = 64u << 10;

    /** @param max_frame_size largest body accepted, in bytes.
        @param max_read_size largest region `prepare()` offers when no frame above it is
               pending (the adaptive size never grows past it).
        @param initial_read_size the first region `prepare()` offers, and the size an idle
               buffer returns to (at most `max_read_size`).
    */
    explicit frame_parser(std::size_t max_frame_size,
                          std::size_t max_read_size = default_max_read_size,
                          std::size_t initial_read_size = default_initial_read_size) noexcept;

    frame_parser(frame_parser&&) noexcept = default;
    frame_parser& operator=(frame_parser&&) noexcept = default;

    /** A writable region at the end of the unread data, sized by the adaptive policy
        (see Memory above): at least one byte; while a frame above the read size arrives,
        room for twice what is buffered (at most the rest of that frame).
    */
    std::span<char> prepare();

    /// A writable region of at least `n` bytes at the end of the unread data.
    std::span<char> prepare(std::size_t n);

    /// Marks `n` bytes of the region returned by @ref prepare as received.
    void commit(std::size_t n) noexcept;

    /** The next complete frame body, if one is buffered.

        Sets `ec` to `error::frame_too_large` when a prefix announces a body above the maximum;
        once it has failed, the parser returns no more frames.
    */
    std::optional<std::span<const char>> next(std::error_code& ec);

    /** Frees the buffer if nothing is buffered (an idle link) and restarts the adaptive
        read size at its initial value. Returns whether it freed anything.
    */
    bool release() noexcept;

    /// Bytes received and not yet returned as frames.
    std::size_t buffered() const noexcept { return end_ - begin_; }

    /// Capacity currently held, in bytes (for memory accounting).
    std::size_t capacity() const noexcept { return cap_; }

    /// Size of the region the next `prepare()` aims for when no large frame is pending.
    std::size_t read_size() const noexcept { return target_; }

    std::size_t max_frame_size() const noexcept { return max_frame_size_; }

    /// Changes the limit for the frames not returned yet (a smaller one before a handshake).
    void set_max_frame_size(std::size_t n) noexcept { max_frame_size_ = n; }

private:
    /// Moves the unread bytes to the front of the buffer.
    void compact() noexcept;
    /// Replaces the buffer by one of exactly `cap` bytes (cap >= buffered()), keeping data.
    void reallocate(std::size_t cap);
    /// Total size of the frame whose prefix is buffered (prefix included), or 0.
    std::size_t pending_frame_size() const noexcept;

    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t max_frame_size_;
    std::size_t max_read_;
    std::size_t initial_;
    std::size_t target_;           // adaptive size of the next region
    std::size_t last_region_ = 0;  // size of the region handed out by the last prepare()
    unsigned small_reads_ = 0;     // reads in a row that used at most a quarter of target_
    bool adaptive_region_ = false; // the last region came from prepare() and not for a frame
    bool failed_ = false;
};

} // namespace mailroom::protocol
