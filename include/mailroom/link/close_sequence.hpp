#pragma once

#include <atomic>

namespace mailroom {

/** The order of a link's close, without I/O: a close with flush lets the frames already
    queued leave first (a refusal the peer must read), a close without flush drops them; the
    close is reported upward exactly once, whichever of a local close, a peer's close, an
    error or a keepalive timeout comes first; frames sent once closing began are discarded.

    The driver calls `mark_closing()` from any thread when a close is asked for (so that sends
    stop at once) and the rest on its strand:
    - `request(flush, writing)` → @ref step: close the socket now, or once the write queue
      drains (then `drained()` says when);
    - `finish()` → true exactly once: the driver reports the close (`on_close`) then.

    @par Thread safety
    `mark_closing()` and `closing()`: any thread. The rest: the driver's strand.

    @par Example
    @code
    mailroom::close_sequence cs;
    if (cs.request(true, q.writing()) == mailroom::close_sequence::step::close_now) shut();
    if (cs.finish()) on_close(ec); // once
    @endcode
*/
class close_sequence {
public:
    /// What the driver does after a close request.
    enum class step {
        none,        ///< a close was requested already: nothing more
        close_now,   ///< close the socket now (drop what is queued)
        after_flush, ///< close once the write queue drains (`drained()` returns true then)
    };

    /// Sends from now on are discarded. Any thread; idempotent.
    void mark_closing() noexcept { closing_.store(true, std::memory_order_relaxed); }

    /// Closing began (a close was asked for, or the link failed). Any thread.
    bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }

    /** A local close (or one the driver starts after an error). `flush`: the caller wants the
        queued frames written first; `writing`: the write queue still has a write chain
        running. Independent of `finish()`: a driver may report the close before its socket
        closes (a WebSocket close handshake), so after `finish()` this still says how the
        socket closes; closing a closed socket again is the driver's no-op.
    */
    step request(bool flush, bool writing) noexcept
    {
        mark_closing();
        if (requested_)
            return step::none;
        requested_ = true;
        if (flush && writing) {
            waits_ = true;
            return step::after_flush;
        }
        return step::close_now;
    }

    /// The write queue drained: true if a flushing close waited for it (close now).
    bool drained() noexcept
    {
        if (!waits_)
            return false;
        waits_ = false;
        return true;
    }

    /// Whether a close waits for the write queue to drain.
    bool waits_for_flush() const noexcept { return waits_; }

    /// A local close was requested.
    bool requested() const noexcept { return requested_; }

    /// True exactly once: the caller reports the close upward.
    bool finish() noexcept
    {
        mark_closing();
        if (finished_)
            return false;
        finished_ = true;
        return true;
    }

    /// The close was reported (`finish()` returned true).
    bool finished() const noexcept { return finished_; }

private:
    std::atomic<bool> closing_{false};
    bool requested_ = false;
    bool waits_ = false;
    bool finished_ = false;
};

} // namespace mailroom
