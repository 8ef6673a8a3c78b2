#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace mailroom {

/// Bounds of a @ref write_queue: beyond either, an append overflows.
struct write_queue_limits {
    /// Bytes queued or being written, in wire form. Default: 64 MiB.
    std::size_t max_bytes = 64u << 20;
    /// Frames queued or being written. Default: 65 536.
    std::size_t max_frames = 65'536;
};

/** The write side of one link, without I/O: a bounded queue of frames in wire form that
    coalesces, so frames appended while a write is in flight leave together in the next one
    (a burst of N frames costs one write, with no flush timer).

    The driver (the transport) owns the socket and the queue. Its loop is:
    - `append(wire)` for each frame sent; on `append_result::start_write` no write chain
      runs and the driver starts one, on `append_result::overflow` it closes the link with
      `error::queue_full` (the peer stopped reading: holding more would grow without bound);
    - `take_batch()` gives the bytes the next write sends (every frame appended since the
      previous batch, coalesced); an empty span ends the write chain;
    - `written(n)` after the socket took `n` bytes of the batch; once the whole batch is
      written, `take_batch()` again.

    The buffers are memcpy-appended, grown geometrically and never zero-filled; the one that
    carried a burst gives its capacity back once writes are four times smaller (above 64 KiB),
    and `release_idle` frees both while no write runs.

    A queue made with `hold` (a link whose handshake is not done yet) accepts frames without
    starting a write until `release_hold()`.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe; the driver serialises every call (a
    mutex, or its strand), with two exceptions: `queued_bytes()`, which any thread may read
    (relaxed), and `written()`, which touches only the batch and may be called without the
    mutex by the one thread (strand) that takes batches, while others append under it.

    @par Example
    @code
    mailroom::write_queue q({.max_bytes = 1 << 20, .max_frames = 1000});
    if (q.append(wire) == mailroom::write_queue::append_result::start_write)
        write(q.take_batch()); // then q.written(n), and take_batch() again until empty
    @endcode
*/
class write_queue {
public:
    /// What the driver does after an append.
    enum class append_result {
        queued,      ///< the write chain that runs takes the frame
        start_write, ///< no write chain runs: start one (`take_batch()`)
        overflow,    ///< a bound was exceeded: the frame was not queued; close the link
        discarded,   ///< the queue was closed (`discard(true)`): the frame is dropped
    };

    explicit write_queue(write_queue_limits limits = {}, bool hold = false) noexcept;
    write_queue(const write_queue&) = delete;
    write_queue& operator=(const write_queue&) = delete;
    ~write_queue();

    /// Appends one frame's wire bytes (copied) unless it would exceed a bound.
    append_result append(std::span<const char> wire)
    {
        if (closed_)
            return append_result::discarded;
        const std::size_t bytes = bytes_.load(std::memory_order_relaxed);
        if (bytes + wire.size() > limits_.max_bytes ||
            frames_ + batch_frames_ >= limits_.max_frames)
            return append_result::overflow;
        out_.append(wire);
        ++frames_;
        // A read-modify-write: `written` lowers the count meanwhile, without the mutex.
        bytes_.fetch_add(wire.size(), std::memory_order_relaxed);
        if (writing_ || hold_)
            return append_result::queued;
        writing_ = true;
        return append_result::start_write;
    }

    /** The bytes the next write sends: everything appended since the previous batch, in
        order. Valid until the next `take_batch()` or `release_idle()`. Empty when nothing is
        queued (or the queue holds, or was discarded): the write chain ends there, and the
        next append returns `start_write`. Takes the whole previous batch as written.
    */
    std::span<const char> take_batch();

    /// `n` more bytes of the current batch reached the socket.
    void written(std::size_t n) noexcept
    {
        n = std::min(n, batch_.size - batch_written_);
        batch_written_ += n;
        if (n > 0)
            bytes_.fetch_sub(n, std::memory_order_relaxed);
    }

    /// Frames of the current batch (taken, not yet fully written).
    std::size_t batch_frames() const noexcept { return batch_frames_; }

    /** Ends a hold: returns true if frames are waiting and no write chain runs, in which case
        the driver starts one (the chain now counts as running).
    */
    bool release_hold() noexcept;

    /** Drops every frame not yet taken. With `close`, later appends are discarded too (a
        link closing without flush, or closed).
    */
    void discard(bool close) noexcept;

    /// A write chain runs: a batch was taken, or a start_write was returned, and no empty
    /// `take_batch()` ended it since.
    bool writing() const noexcept { return writing_; }

    /// Bytes queued or in the current batch and not yet written. Any thread (relaxed).
    std::size_t queued_bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

    /// Frames queued or in the current batch.
    std::size_t queued_frames() const noexcept { return frames_ + batch_frames_; }

    /// Bytes held by both buffers (memory accounting, tests).
    std::size_t capacity() const noexcept;

    /** While no write chain runs, frees buffer capacity above `keep` bytes (a quiet link).
        Returns whether the queue was idle.
    */
    bool release_idle(std::size_t keep) noexcept;

private:
    struct buffer {
        std::unique_ptr<char[]> data;
        std::size_t size = 0;
        std::size_t cap = 0;
        void append(std::span<const char> bytes)
        {
            if (cap - size < bytes.size())
                grow(size + bytes.size());
            if (!bytes.empty())
                std::memcpy(data.get() + size, bytes.data(), bytes.size());
            size += bytes.size();
        }
        void grow(std::size_t need);
        void release() noexcept;
    };

    const write_queue_limits limits_;
    buffer out_;   // appended, not yet taken
    buffer batch_; // the write in flight
    std::size_t frames_ = 0;
    std::size_t batch_frames_ = 0;
    std::size_t batch_written_ = 0;
    std::atomic<std::size_t> bytes_{0};
    bool writing_ = false;
    bool hold_ = false;
    bool closed_ = false;
};

} // namespace mailroom
