#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <utility>

namespace mailroom::ws::detail {

std::error_code link_error(const boost::system::error_code& ec)
{
    if (ec == websocket::error::message_too_big)
        return error::frame_too_large;
    if (ec == beast::error::timeout)
        return std::make_error_code(std::errc::timed_out);
    return mailroom::detail::to_std_error(ec);
}

// ---------------------------------------------------------------------------------------
// Sending.

template <class Next>
void ws_link<Next>::send_frame(frame f)
{
    if (closing())
        return;
    auto wire = f.wire();
    bool overflow = false;
    bool start = false;
    {
        std::lock_guard lock(mu_);
        if (drop_)
            return;
        if (queued_.load(std::memory_order_relaxed) + wire.size() > options_.max_write_queue_bytes ||
            out_frames_ + inflight_frames_ >= options_.max_write_queue_frames) {
            overflow = true;
        } else {
            out_.insert(out_.end(), wire.begin(), wire.end());
            ++out_frames_;
            queued_.fetch_add(wire.size(), std::memory_order_relaxed);
            start = open_ && !writing_;
            writing_ = writing_ || start;
        }
    }
    if (overflow) {
        // The peer stopped reading: closing fails the calls on this link instead of growing
        // without bound.
        closing_ = true;
        asio::post(strand_, [self = this->shared_from_this()] {
            self->finish(error::queue_full, false);
            self->hard_close();
        });
    } else if (start) {
        // Sent while a message is being delivered (a reply, or a call its completion made):
        // it leaves with the others once the message was delivered. delivering_ is read only
        // on the strand.
        if (strand_.running_in_this_thread() && delivering_)
            flush_due_ = true;
        else
            asio::post(strand_, [self = this->shared_from_this()] { self->do_write(); });
    }
}

template <class Next>
void ws_link<Next>::close_link(bool flush)
{
    closing_ = true;
    asio::post(strand_, [self = this->shared_from_this(), flush] {
        if (self->finished_)
            return;
        self->finish(std::make_error_code(std::errc::operation_canceled), true);
        self->begin_close(websocket::close_code::normal, flush);
    });
}

template <class Next>
void ws_link<Next>::do_write()
{
    bool take = false;
    {
        std::lock_guard lock(mu_);
        if ((drop_ || socket_closed_) && !out_.empty()) {
            queued_.fetch_sub(out_.size(), std::memory_order_relaxed);
            out_.clear();
            out_frames_ = 0;
        }
        if (!out_.empty()) {
            inflight_.swap(out_);
            out_.clear();
            inflight_frames_ = std::exchange(out_frames_, 0);
            take = true;
        } else {
            inflight_frames_ = 0;
            writing_ = false;
        }
    }
    if (!take) {
        if (close_waits_)
            send_close();
        return;
    }
    inflight_bytes_ = inflight_.size();
    plan_messages(inflight_, batch_, messages_);
    write_message(0);
}

template <class Next>
void ws_link<Next>::write_message(std::size_t i)
{
    const auto m = messages_[i];
    ws_.async_write(asio::buffer(m.data(), m.size()),
                    [self = this->shared_from_this(), i](const boost::system::error_code& ec,
                                                         std::size_t) { self->on_written(ec, i); });
}

template <class Next>
void ws_link<Next>::on_written(const boost::system::error_code& ec, std::size_t i)
{
    if (ec) {
        if (!finished_)
            finish(link_error(ec), false);
        return hard_close(); // writing_ stays set: nothing is written any more
    }
    if (i + 1 < messages_.size())
        return write_message(i + 1);
    queued_.fetch_sub(inflight_bytes_, std::memory_order_relaxed);
    inflight_bytes_ = 0;
    do_write(); // what was sent meanwhile leaves now, together
}

template <class Next>
void ws_link<Next>::begin_close(websocket::close_reason reason, bool flush)
{
    if (close_requested_ || socket_closed_)
        return;
    close_requested_ = true;
    if (!started_)
        return hard_close(); // nothing to say to a peer that never completed the upgrade
    close_reason_ = std::move(reason);
    bool idle = false;
    {
        std::lock_guard lock(mu_);
        if (!flush) {
            drop_ = true;
            if (!writing_) {
                queued_.fetch_sub(out_.size(), std::memory_order_relaxed);
                out_.clear();
                out_frames_ = 0;
            }
        }
        idle = !writing_;
    }
    // Bounds the whole close, the queued frames included (a peer that never reads).
    timer_.expires_after(options_.handshake_timeout);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->hard_close();
    });
    if (idle)
        send_close();
    else
        close_waits_ = true; // the write chain sends it once the queue is written
}

template <class Next>
void ws_link<Next>::send_close()
{
    if (close_sent_ || socket_closed_)
        return;
    close_sent_ = true;
    // Beast reads on for the peer's close frame, up to handshake_timeout, then tears the
    // socket down.
    ws_.async_close(close_reason_, [self = this->shared_from_this()](const boost::system::error_code&) {
        self->hard_close();
    });
}

template <class Next>
void ws_link<Next>::fail(std::error_code ec, websocket::close_code code)
{
    if (!finished_)
        finish(ec, false);
    if (close_requested_)
        return hard_close(); // already closing: the peer gets no second close frame
    websocket::close_reason reason(code);
    auto why = ec.message();
    why.resize(std::min<std::size_t>(why.size(), 123)); // a close frame's payload is <= 125
    reason.reason = why;
    begin_close(std::move(reason), false);
}

// ---------------------------------------------------------------------------------------
// Receiving.

template <class Next>
void ws_link<Next>::do_read()
{
    ws_.async_read(rbuf_, [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                           std::size_t) { self->on_read(ec); });
}

template <class Next>
void ws_link<Next>::on_read(const boost::system::error_code& ec)
{
    if (ec) {
        // Beast already answered a peer's close, or closed with 1002/1009 on a violation.
        if (!finished_)
            finish(link_error(ec), false);
        return hard_close();
    }
    if (finished_) {
        rbuf_.clear(); // closing: read on for the peer's close frame, deliver nothing
        return do_read();
    }
    if (ws_.got_text()) {
        rbuf_.clear();
        return fail(ws_error::text_message, websocket::close_code::unknown_data);
    }
    on_message();
}

template <class Next>
void ws_link<Next>::on_message()
{
    const auto data = rbuf_.cdata();
    const std::span<const char> message(static_cast<const char*>(data.data()), data.size());
    std::error_code bad;
    delivering_ = true;
    if (!batch_) {
        deliver(message);
    } else if (!(bad = decode_batch(message, max_frame_size_, bodies_))) {
        for (const auto& body : bodies_) {
            if (finished_)
                break;
            deliver(body);
        }
    }
    delivering_ = false;
    rbuf_.clear();
    if (rbuf_.capacity() > batch_message_max)
        rbuf_.shrink_to_fit(); // one huge message must not pin its buffer
    if (bad)
        return fail(bad, bad == error::frame_too_large ? websocket::close_code::too_big
                                                       : websocket::close_code::protocol_error);
    if (std::exchange(flush_due_, false))
        do_write();
    if (!socket_closed_)
        do_read();
}

// ---------------------------------------------------------------------------------------
// Opening, keepalive, closing.

template <class Next>
void ws_link<Next>::enable(bool batch, std::size_t guard_frames, std::chrono::milliseconds guard_time)
{
    if (started_)
        return;
    started_ = true;
    batch_ = batch;
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(message_limit(batch, max_frame_size_));
    // A client masks through this buffer, allocated once per link: 16 KiB holds a typical
    // batch (a larger one leaves in several writes); 64 KiB measured no faster.
    ws_.write_buffer_bytes(16u << 10);
    // Mask keys need only vary between frames (RFC 6455, 10.3); links carry no script's data.
    ws_.secure_prng(false);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = options_.handshake_timeout; // bounds the closing handshake
    t.idle_timeout = websocket::stream_base::none();  // keepalive is ours (on_keepalive)
    t.keep_alive_pings = false;
    ws_.set_option(t);
    guard_time_ = guard_time;
    if (guard_frames > 0 || guard_time.count() > 0) {
        std::weak_ptr<ws_link> weak = this->shared_from_this();
        ws_.next_layer().guard(guard_frames, guard_time, [weak, this](std::error_code ec) {
            if (auto self = weak.lock())
                asio::post(strand_, [self, ec] {
                    self->fail(ec, websocket::close_code::policy_error);
                });
        });
    }
    ws_.next_layer().touch();
    bool start = false;
    {
        std::lock_guard lock(mu_);
        open_ = true;
        start = !writing_ && !out_.empty();
        writing_ = writing_ || start;
    }
    if (start)
        do_write();
}

template <class Next>
void ws_link<Next>::start()
{
    if (socket_closed_)
        return;
    if (!finished_)
        arm_keepalive();
    do_read();
}

template <class Next>
void ws_link<Next>::arm_keepalive()
{
    using std::chrono::milliseconds;
    const auto interval = options_.keepalive_interval, timeout = options_.keepalive_timeout;
    milliseconds period{0};
    if (interval.count() > 0 || timeout.count() > 0) {
        period = interval.count() > 0 ? interval : timeout / 2;
        if (timeout.count() > 0)
            period = std::min(period, timeout);
    }
    if (guard_time_.count() > 0)
        period = period.count() > 0 ? std::min(period, guard_time_) : guard_time_;
    if (period.count() == 0)
        return;
    timer_.expires_after(std::max(period, milliseconds(1)));
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_keepalive();
    });
}

template <class Next>
void ws_link<Next>::on_keepalive()
{
    if (finished_ || socket_closed_)
        return;
    const auto now = std::chrono::steady_clock::now();
    const auto last = ws_.next_layer().last_read();
    const auto silent = now - last;
    if (options_.keepalive_timeout.count() > 0 && silent >= options_.keepalive_timeout) {
        finish(error::keepalive_timeout, false);
        return hard_close();
    }
    if (auto ec = ws_.next_layer().check_guard())
        return fail(ec, websocket::close_code::policy_error);
    if (last > last_ping_)
        ping_outstanding_ = false;
    if (options_.keepalive_interval.count() > 0 && silent >= options_.keepalive_interval &&
        !ping_outstanding_ && !ping_in_flight_) {
        ping_outstanding_ = true;
        ping_in_flight_ = true;
        last_ping_ = now;
        ws_.async_ping({}, [self = this->shared_from_this()](const boost::system::error_code&) {
            self->ping_in_flight_ = false;
        });
    }
    arm_keepalive();
}

template <class Next>
void ws_link<Next>::finish(std::error_code ec, bool local)
{
    if (finished_)
        return;
    finished_ = true;
    closing_ = true;
    timer_.cancel();
    closed(ec, local);
}

template <class Next>
void ws_link<Next>::hard_close()
{
    if (socket_closed_)
        return;
    socket_closed_ = true;
    closing_ = true;
    timer_.cancel();
    tcp().close();
}

template class ws_link<plain_layer>;
template class ws_link<tls_layer>;

} // namespace mailroom::ws::detail
