#pragma once

#include <algorithm>
#include <chrono>

namespace mailroom {

/// Keepalive timing of a link (docs/protocol.md, section 9). 0 disables either rule.
struct keepalive_settings {
    /// Send a ping after this much silence. Default: 10 s.
    std::chrono::milliseconds interval{10'000};
    /// Close with `error::keepalive_timeout` after this much silence. Default: 30 s.
    std::chrono::milliseconds timeout{30'000};
    /** A ping left unanswered this long marks the link stalled (@ref keepalive_clock::stalled)
        until a whole frame arrives: a client stops putting new calls on it. 0: never.
        Default: 3 s.
    */
    std::chrono::milliseconds stall{3'000};
};

/** When a link pings and when it gives up, without timers or sockets: the driver reports
    received bytes and ticks with the time, and does what `tick` returns. Liveness is any bytes
    received (a reply, a pong, anything); one ping is outstanding at a time. Only a whole
    frame or message answers a ping: a ping left unanswered for the timeout closes the link
    even while bytes arrive (the bytes of a frame that never completes, say).

    The clock decides only *when*: what a ping is (a mailroom ping frame, a WebSocket ping
    control frame) stays with the driver and its protocol.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (the driver calls it on its strand).

    @par Example
    @code
    mailroom::keepalive_clock ka({.interval = 10s, .timeout = 30s}, now);
    if (ka.tick(now) == mailroom::keepalive_clock::action::send_ping) send_ping();
    timer.expires_at(ka.next_tick(now));
    @endcode
*/
class keepalive_clock {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// What the driver does after a tick.
    enum class action {
        none,      ///< nothing (arm the timer again)
        send_ping, ///< send one ping, then arm the timer again
        close,     ///< close the link with `error::keepalive_timeout`; no more ticks
    };

    /// A link that last heard from its peer at `now` (connected, or handshake done).
    explicit keepalive_clock(keepalive_settings settings, time_point now = clock::now()) noexcept
        : settings_(settings), last_rx_(now)
    {
    }

    /// Whether the link ticks at all (either rule is on).
    bool enabled() const noexcept
    {
        return settings_.interval.count() > 0 || settings_.timeout.count() > 0;
    }

    /// A whole frame (or message) arrived at `at`: the peer lives, and a ping sent before `at`
    /// was answered.
    void received(time_point at) noexcept;

    /** Bytes arrived at `at` that completed no frame: the link is not silent, but an outstanding
        ping stays unanswered. A driver that cannot tell frames from bytes calls @ref received.
    */
    void received_partial(time_point at) noexcept { last_rx_ = std::max(last_rx_, at); }

    /// The timer fired at `now`.
    action tick(time_point now) noexcept;

    /** How long the driver waits between ticks: the interval (half the timeout without one),
        no longer than the timeout, at least 1 ms; zero when disabled.
    */
    std::chrono::milliseconds period() const noexcept;

    /// When the next tick is due, for a timer armed at `now`: one period later.
    time_point next_tick(time_point now) const noexcept { return now + period(); }

    /** When the next rule can fire, for a timer armed at `now`: the ping after `interval` of
        silence, the stall, the close after `timeout`; never later than @ref next_tick and
        at least 1 ms after `now`. A driver that arms its timer for this closes a silent
        link `timeout` after the last bytes, not up to a period later.
    */
    time_point next_due(time_point now) const noexcept;

    /** A ping has been unanswered for `stall` (set by @ref tick): the peer is alive as far as
        TCP knows but does not answer. Cleared by @ref received, and so by a whole frame.
    */
    bool stalled() const noexcept { return stalled_; }

    /// A ping was sent and nothing arrived since.
    bool ping_outstanding() const noexcept { return ping_outstanding_; }

    /// When bytes last arrived.
    time_point last_received() const noexcept { return last_rx_; }

private:
    keepalive_settings settings_;
    time_point last_rx_;
    time_point last_ping_{};
    bool ping_outstanding_ = false;
    bool stalled_ = false;
};

} // namespace mailroom
