#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
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
    if (close_.closing())
        return;
    write_queue::append_result r;
    {
        std::lock_guard lock(mu_);
        r = queue_.append(f.wire()); // held (queued) until the upgrade is done
    }
    if (r == write_queue::append_result::start_write) {
        // Sent while a message is being delivered (a reply, or a call its completion made):
        // it leaves with the others once the message was delivered. batch_ is read only on
        // the strand.
        if (!(strand_.running_in_this_thread() && batch_.defer()))
            asio::post(strand_, [self = this->shared_from_this()] { self->do_write(); });
    } else if (r == write_queue::append_result::overflow) {
        // The peer stopped reading: closing fails the calls on this link instead of growing
        // without bound.
        close_.mark_closing();
        asio::post(strand_, [self = this->shared_from_this()] {
            self->finish(error::queue_full, false);
            self->hard_close();
        });
    }
}

namespace {

/// The close frame for a close the core asked for: why, in RFC 6455's codes and words.
websocket::close_reason close_reason_for(std::error_code reason)
{
    if (!reason)
        return websocket::close_code::normal;
    // A reason that is not mailroom's is this end's own trouble (out of memory): 1011.
    websocket::close_reason r(reason == error::frame_too_large  ? websocket::close_code::too_big
                              : reason == error::protocol_error ? websocket::close_code::protocol_error
                              : reason.category() == error_category()
                                  ? websocket::close_code::policy_error
                                  : websocket::close_code::internal_error);
    auto why = reason.message();
    why.resize(std::min<std::size_t>(why.size(), 123)); // a close frame's payload is <= 125
    r.reason = why;
    return r;
}

} // namespace

template <class Next>
void ws_link<Next>::close_link(bool flush, std::error_code reason)
{
    close_.mark_closing();
    asio::post(strand_, [self = this->shared_from_this(), flush, reason] {
        if (self->close_.finished())
            return;
        self->finish(std::make_error_code(std::errc::operation_canceled), true);
        self->begin_close(close_reason_for(reason), flush);
    });
}

template <class Next>
void ws_link<Next>::do_write()
{
    std::span<const char> batch;
    {
        std::lock_guard lock(mu_);
        if (socket_closed_)
            queue_.discard(true);
        batch = queue_.take_batch(); // every frame sent since the previous write
    }
    if (batch.empty()) {
        if (close_.drained()) // the close frame follows the queued frames
            send_close();
        return;
    }
    plan_messages(batch, batch_framing_, messages_);
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
        if (!close_.finished())
            finish(link_error(ec), false);
        return hard_close(); // the write chain stays running: nothing is written any more
    }
    if (i + 1 < messages_.size())
        return write_message(i + 1);
    do_write(); // take_batch counts this batch written; what was sent meanwhile leaves now
}

template <class Next>
void ws_link<Next>::begin_close(websocket::close_reason reason, bool flush)
{
    if (close_.requested() || socket_closed_)
        return;
    if (!started_) {
        close_.request(false, false);
        return hard_close(); // nothing to say to a peer that never completed the upgrade
    }
    close_reason_ = std::move(reason);
    bool writing;
    {
        std::lock_guard lock(mu_);
        if (!flush)
            queue_.discard(true); // the batch in flight still goes
        writing = queue_.writing();
    }
    // Bounds the whole close, the queued frames included (a peer that never reads).
    timer_.expires_after(options_.handshake_timeout);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->hard_close();
    });
    // Without flush the close frame still waits for the write in flight (one write at a
    // time on a websocket::stream), so it always follows the queue.
    if (close_.request(true, writing) == close_sequence::step::close_now)
        send_close();
    // step::after_flush: the write chain sends it once the queue is written.
}

template <class Next>
void ws_link<Next>::send_close()
{
    if (close_sent_ || socket_closed_)
        return;
    close_sent_ = true;
    // Not Beast's async_close: in Beast 1.74 it deadlocks with a running read whose bytes fail
    // the connection while the close frame is written (the read waits for the close's write
    // lock, the close for the read's lock; neither resumes, and the link's operations hold
    // its server's I/O threads for ever). The close frame goes out here, on the layer under
    // Beast, once no Beast operation runs: a ping in flight ends first, then the read is
    // cancelled (and reads nothing more).
    {
        std::lock_guard lock(mu_);
        queue_.discard(true); // a frame sent from now on is never written beside the close
    }
    ws_.next_layer().stop_reading();
    if (!ws_.is_open()) {
        // Beast's read is closing already (the peer's close, or a violation it answers with
        // its own close frame): its frame, its teardown; on_read then closes the socket.
        close_written_ = true;
        return;
    }
    write_close_frame();
}

namespace {

/// A close frame (RFC 6455, 5.5.1) with `reason`'s code and text, masked with a random key
/// when a client sends it.
std::string encode_close_frame(const websocket::close_reason& reason, bool masked)
{
    std::string payload;
    if (reason.code != websocket::close_code::none) {
        payload += static_cast<char>(reason.code >> 8);
        payload += static_cast<char>(reason.code & 0xff);
        payload.append(reason.reason.data(), std::min<std::size_t>(reason.reason.size(), 123));
    }
    std::string out;
    out += static_cast<char>(0x88); // FIN, close
    out += static_cast<char>((masked ? 0x80 : 0x00) | payload.size());
    if (masked) {
        std::random_device rd;
        const std::uint32_t key = rd();
        char k[4];
        std::memcpy(k, &key, 4);
        out.append(k, 4);
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(payload[i] ^ k[i % 4]);
    }
    return out + payload;
}

} // namespace

template <class Next>
void ws_link<Next>::write_close_frame()
{
    if (!close_sent_ || close_written_ || socket_closed_ || ping_in_flight_)
        return; // the ping's completion calls again (a cancel could cut its record on TLS)
    if (read_running_) {
        // Our writes and the ping are done: the read is the only operation on the socket.
        // on_read calls again.
        if (!read_cancelled_) {
            read_cancelled_ = true;
            boost::system::error_code ignored;
            tcp().socket().cancel(ignored);
        }
        return;
    }
    close_written_ = true;
    close_frame_ = encode_close_frame(close_reason_, role_ == beast::role_type::client);
    asio::async_write(
        ws_.next_layer(), asio::buffer(close_frame_),
        asio::bind_executor(strand_, [self = this->shared_from_this()](
                                         const boost::system::error_code& ec, std::size_t) {
            if (ec || self->socket_closed_)
                return self->hard_close();
            // Beast's teardown: a server shuts its sending side, then closes at the peer's
            // answer (its next bytes) or its close; a client at the server's answer or close.
            async_teardown(self->role_, self->ws_.next_layer(),
                           asio::bind_executor(self->strand_,
                                               [self](const boost::system::error_code&) {
                                                   self->hard_close();
                                               }));
        }));
}

template <class Next>
void ws_link<Next>::fail(std::error_code ec, websocket::close_code code)
{
    if (!close_.finished())
        finish(ec, false);
    if (close_.requested())
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
    if (close_sent_)
        return; // the close frame follows no read
    read_running_ = true;
    ws_.async_read(rbuf_, [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                           std::size_t) { self->on_read(ec); });
}

template <class Next>
void ws_link<Next>::on_read(const boost::system::error_code& ec)
{
    read_running_ = false;
    if (ec) {
        // Beast already answered a peer's close, or closed with 1002/1009 on a violation;
        // or send_close cancelled the read to write its close frame.
        if (!close_.finished())
            finish(link_error(ec), false);
        if (close_sent_ && !close_written_ && ec == asio::error::operation_aborted)
            return write_close_frame();
        return hard_close();
    }
    if (close_sent_) // a message that completed before the cancel: dropped
        return close_written_ ? hard_close() : write_close_frame();
    if (close_.finished()) {
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
    keepalive_.received(std::chrono::steady_clock::now());
    report_stall();
    std::error_code bad;
    batch_.begin(); // replies sent meanwhile leave together once the message was delivered
    if (!batch_framing_) {
        deliver(message);
    } else if (!(bad = decode_batch(message, body_limit_, bodies_))) {
        for (const auto& body : bodies_) {
            if (close_.finished())
                break;
            deliver(body);
        }
    }
    const bool write_due = batch_.end();
    rbuf_.clear();
    if (rbuf_.capacity() > batch_message_max)
        rbuf_.shrink_to_fit(); // one huge message must not pin its buffer
    if (bad)
        return fail(bad, bad == error::frame_too_large ? websocket::close_code::too_big
                                                       : websocket::close_code::protocol_error);
    if (write_due)
        do_write();
    if (!socket_closed_)
        do_read();
}

// ---------------------------------------------------------------------------------------
// Opening, keepalive, closing.

template <class Next>
void ws_link<Next>::enable(beast::role_type role, bool batch, std::size_t guard_frames,
                           std::chrono::milliseconds guard_time)
{
    if (started_)
        return;
    started_ = true;
    role_ = role;
    batch_framing_ = batch;
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(message_limit(batch, max_frame_size_));
    // A client masks through this buffer, allocated once per link: 16 KiB holds a typical
    // batch (a larger one leaves in several writes); 64 KiB measured no faster.
    ws_.write_buffer_bytes(16u << 10);
    // Mask keys need only vary between frames (RFC 6455, 10.3); links carry no script's data.
    ws_.secure_prng(false);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = options_.handshake_timeout; // bounds a close the peer started
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
    keepalive_.received(std::chrono::steady_clock::now()); // silence counts from now
    // The peer's first bytes (its pong) lift a stall at once: a stalled link takes calls
    // again without waiting for the next tick. Called inside this link's reads, on the
    // strand. Not a control callback, which makes Beast 1.74 post its read between a control
    // frame and the bytes behind it.
    ws_.next_layer().on_bytes([this] {
        if (!stall_reported_)
            return;
        keepalive_.received(std::chrono::steady_clock::now());
        report_stall();
    });
    bool start = false;
    {
        std::lock_guard lock(mu_);
        start = queue_.release_hold(); // frames sent before the upgrade leave now
    }
    if (start)
        do_write();
}

template <class Next>
void ws_link<Next>::expect_handshake(const handshake_limits& limits)
{
    handshake_.arm(limits, std::chrono::steady_clock::now());
    // A batch may carry the hello and the calls behind it in one message (up to the frame
    // limit): with batches, only the deadline applies before the hello.
    if (batch_framing_)
        return;
    body_limit_ = handshake_.max_frame_size(max_frame_size_);
    ws_.read_message_max(message_limit(batch_framing_, body_limit_));
}

template <class Next>
void ws_link<Next>::handshake_complete()
{
    handshake_.done();
    body_limit_ = max_frame_size_;
    ws_.read_message_max(message_limit(batch_framing_, body_limit_));
}

template <class Next>
void ws_link<Next>::start()
{
    if (socket_closed_)
        return;
    if (!close_.finished())
        arm_keepalive();
    do_read();
}

template <class Next>
void ws_link<Next>::arm_keepalive()
{
    using std::chrono::milliseconds;
    const auto now = std::chrono::steady_clock::now();
    milliseconds period = keepalive_.enabled()
                              ? std::chrono::ceil<milliseconds>(keepalive_.next_due(now) - now)
                              : milliseconds(0);
    if (guard_time_.count() > 0)
        period = period.count() > 0 ? std::min(period, guard_time_) : guard_time_;
    period = handshake_.wait(now, period);
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
    if (close_.finished() || socket_closed_)
        return;
    // Liveness is any bytes, control frames included: the layer under Beast times its reads.
    keepalive_.received(ws_.next_layer().last_read());
    const auto now = std::chrono::steady_clock::now();
    if (handshake_.expired(now)) // issue 16: pings and trickled bytes kept such links open
        return fail(error::handshake_timeout, websocket::close_code::policy_error);
    const auto act = keepalive_.tick(now);
    if (act == keepalive_clock::action::close) {
        finish(error::keepalive_timeout, false);
        return hard_close();
    }
    if (auto ec = ws_.next_layer().check_guard())
        return fail(ec, websocket::close_code::policy_error);
    report_stall();
    // The ping is a WebSocket ping control frame; the clock only decides when. One runs at
    // a time on the stream (a tick while one is in flight leaves it outstanding).
    if (act == keepalive_clock::action::send_ping && !ping_in_flight_) {
        ping_in_flight_ = true;
        ws_.async_ping({}, [self = this->shared_from_this()](const boost::system::error_code&) {
            self->ping_in_flight_ = false;
            self->write_close_frame(); // a close waits for the ping's write
        });
    }
    arm_keepalive();
}

template <class Next>
void ws_link<Next>::report_stall()
{
    if (keepalive_.stalled() == stall_reported_ || close_.finished())
        return;
    stall_reported_ = keepalive_.stalled();
    stall_changed(stall_reported_);
}

template <class Next>
void ws_link<Next>::finish(std::error_code ec, bool local)
{
    if (!close_.finish())
        return;
    timer_.cancel();
    closed(ec, local);
}

template <class Next>
void ws_link<Next>::hard_close()
{
    if (socket_closed_)
        return;
    socket_closed_ = true;
    close_.mark_closing();
    {
        std::lock_guard lock(mu_);
        queue_.discard(true);
    }
    timer_.cancel();
    tcp().close();
}

template class ws_link<plain_layer>;
template class ws_link<tls_layer>;

} // namespace mailroom::ws::detail
