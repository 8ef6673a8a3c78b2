#pragma once

#include <mailroom/server/acceptor.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace mailroom {

/** The limits a server link applies to a peer that has not completed the protocol's
    handshake (@ref handshake_limits, given by the core), without timers or sockets: the
    driver asks it how long its timer may wait, whether the deadline passed, and which frame
    size applies; the core's `connection::handshake_done` lifts them. Nothing the peer sends
    (pings, single bytes) moves the deadline: only the handshake does.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (the driver calls it on its strand).

    @par Example
    @code
    guard.arm(handler->limits_before_handshake(), now);
    parser.set_max_frame_size(guard.max_frame_size(options.max_frame_size));
    if (guard.expired(now)) close(mailroom::error::handshake_timeout);
    @endcode
*/
class handshake_guard {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// Starts the limits for a link opened at `now`; none apply if `limits` sets none.
    void arm(const handshake_limits& limits, time_point now) noexcept
    {
        limits_ = limits;
        deadline_ = now + limits.timeout;
        pending_ = limits.timeout.count() > 0 || limits.max_frame_size > 0;
    }

    /// The handshake completed: no limit applies any more.
    void done() noexcept { pending_ = false; }

    /// Limits apply (armed, and the handshake not done yet).
    bool pending() const noexcept { return pending_; }

    /// The deadline passed at `now` without a handshake.
    bool expired(time_point now) const noexcept
    {
        return pending_ && limits_.timeout.count() > 0 && now >= deadline_;
    }

    /// The largest frame body accepted now, for a link whose own limit is `normal`.
    std::size_t max_frame_size(std::size_t normal) const noexcept
    {
        if (!pending_ || limits_.max_frame_size == 0)
            return normal;
        return std::min(normal, limits_.max_frame_size);
    }

    /** How long a timer armed at `now` may wait: `period` (the keepalive's; 0 = none), but
        no later than the deadline while it applies (at least 1 ms). 0 when neither applies.
    */
    std::chrono::milliseconds wait(time_point now, std::chrono::milliseconds period) const noexcept
    {
        using std::chrono::milliseconds;
        if (!pending_ || limits_.timeout.count() == 0)
            return period;
        const auto left = std::chrono::ceil<milliseconds>(deadline_ - now);
        const milliseconds until = std::max(left, milliseconds(1));
        return period.count() > 0 ? std::min(period, until) : until;
    }

private:
    handshake_limits limits_{};
    time_point deadline_{};
    bool pending_ = false;
};

} // namespace mailroom
