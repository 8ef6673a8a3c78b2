#include <mailroom/link/keepalive_clock.hpp>

#include <algorithm>

namespace mailroom {

void keepalive_clock::received(time_point at) noexcept
{
    last_rx_ = std::max(last_rx_, at);
    // Bytes read before the ping left cannot answer it (the WebSocket driver reports the
    // time its lowest layer last read, which may predate the ping).
    if (at > last_ping_) {
        ping_outstanding_ = false;
        stalled_ = false;
    }
}

keepalive_clock::action keepalive_clock::tick(time_point now) noexcept
{
    const auto silent = now - last_rx_;
    if (settings_.timeout.count() > 0 && silent >= settings_.timeout)
        return action::close;
    // Bytes that never complete a frame (a length prefix corrupted upwards swallows every
    // pong and reply after it) are not silence, but they answer no ping either (issue 16).
    if (settings_.timeout.count() > 0 && ping_outstanding_ &&
        now - last_ping_ >= settings_.timeout)
        return action::close;
    if (settings_.stall.count() > 0 && ping_outstanding_ && now - last_ping_ >= settings_.stall)
        stalled_ = true;
    if (settings_.interval.count() > 0 && silent >= settings_.interval && !ping_outstanding_) {
        ping_outstanding_ = true;
        last_ping_ = now;
        return action::send_ping;
    }
    return action::none;
}

keepalive_clock::time_point keepalive_clock::next_due(time_point now) const noexcept
{
    using std::chrono::milliseconds;
    if (!enabled())
        return now;
    auto due = next_tick(now);
    if (settings_.timeout.count() > 0) {
        due = std::min(due, last_rx_ + settings_.timeout);
        if (ping_outstanding_)
            due = std::min(due, last_ping_ + settings_.timeout);
    }
    if (settings_.interval.count() > 0 && !ping_outstanding_)
        due = std::min(due, last_rx_ + settings_.interval);
    if (settings_.stall.count() > 0 && ping_outstanding_ && !stalled_)
        due = std::min(due, last_ping_ + settings_.stall);
    return std::max(due, now + milliseconds(1));
}

std::chrono::milliseconds keepalive_clock::period() const noexcept
{
    using std::chrono::milliseconds;
    if (!enabled())
        return milliseconds(0);
    milliseconds p = settings_.interval.count() > 0 ? settings_.interval : settings_.timeout / 2;
    if (settings_.timeout.count() > 0)
        p = std::min(p, settings_.timeout);
    return std::max(p, milliseconds(1));
}

} // namespace mailroom
