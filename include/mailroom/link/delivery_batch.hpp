#pragma once

namespace mailroom {

/** Re-entrancy of a link made explicit: while the driver delivers the frames of one read
    (or runs a keepalive tick), a write that a send on the strand would start is deferred, and
    the driver starts one write after the batch, carrying every reply of that read together,
    without a post. The driver owns the object; no thread-local state is involved.

    A send asks `defer()` only when it runs on the driver's strand (e.g. `strand.
    running_in_this_thread()`): sends from other threads post their write as usual.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe; the driver's strand only.

    @par Example
    @code
    batch.begin();
    for (auto body : frames) deliver(body); // a send calls: if (!batch.defer()) post_write();
    if (batch.end()) start_write();
    @endcode
*/
class delivery_batch {
public:
    /// A read's deliveries (or a tick) begin.
    void begin() noexcept { active_ = true; }

    /// Whether a batch runs.
    bool active() const noexcept { return active_; }

    /// A send must start a write: true if a batch runs and the write was deferred to its end.
    bool defer() noexcept
    {
        if (!active_)
            return false;
        due_ = true;
        return true;
    }

    /// The batch ends: true if a deferred write must start now.
    bool end() noexcept
    {
        active_ = false;
        const bool due = due_;
        due_ = false;
        return due;
    }

private:
    bool active_ = false;
    bool due_ = false;
};

} // namespace mailroom
