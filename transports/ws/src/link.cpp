#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/error.hpp>

#include <algorithm>

namespace mailroom::ws::detail {

std::error_code link_error(const boost::system::error_code& ec)
{
    if (ec == beast::error::timeout) // Beast's handshake timer: an opening or closing handshake
        return std::make_error_code(std::errc::timed_out);
    if (ec == websocket::error::message_too_big)
        return error::frame_too_large;
    return mailroom::detail::to_std_error(ec);
}

namespace {

/// Bytes the batching layer may hold before the link stops feeding it: one socket write's
/// worth in flight plus this much waiting keeps the pipe full without growing unbounded.
constexpr std::size_t max_backlog = 1u << 20;

} // namespace

template <class Stream>
void ws_link<Stream>::configure()
{
    // Callbacks from the batching layer run while its flush holds the link alive.
    auto& batcher = ws_.next_layer();
    batcher.set_owner(this->weak_from_this());
    batcher.set_on_error([this](const boost::system::error_code& ec) {
        finish(link_error(ec), false);
        hard_close();
    });
    batcher.set_on_drained([this] {
        if (waiting_drain_) {
            waiting_drain_ = false;
            do_write();
        }
    });
    ws_.binary(true);
    // One WebSocket frame per message: fragmenting buys nothing between servers.
    ws_.auto_fragment(false);
    ws_.read_message_max(max_frame_size_);
    // A client masks what it sends through this buffer; the default 4 KiB costs a syscall
    // per 4 KiB of a large message.
    ws_.write_buffer_bytes(64u << 10);
    // Beast's timer bounds the opening and closing handshakes only; keepalive is ours.
    websocket::stream_base::timeout t;
    t.handshake_timeout = options_.handshake_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
}

template <class Stream>
void ws_link<Stream>::enable_writes()
{
    if (started_)
        return;
    started_ = true;
    bool kick = false;
    {
        std::lock_guard lock(mu_);
        open_ = true;
        kick = !out_.empty() && !writing_;
        writing_ = writing_ || kick;
    }
    if (kick)
        do_write();
}

template <class Stream>
void ws_link<Stream>::start()
{
    enable_writes();
    do_read();
    arm_keepalive();
}

template <class Stream>
void ws_link<Stream>::arm_keepalive()
{
    using std::chrono::milliseconds;
    const auto interval = options_.keepalive_interval, timeout = options_.keepalive_timeout;
    if (interval.count() <= 0 && timeout.count() <= 0)
        return;
    auto period = interval.count() > 0 ? interval : timeout / 2;
    if (timeout.count() > 0)
        period = std::min(period, timeout);
    keepalive_timer_.expires_after(std::max(period, milliseconds(1)));
    keepalive_timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_keepalive_tick();
    });
}

template <class Stream>
void ws_link<Stream>::on_keepalive_tick()
{
    if (closed_)
        return;
    const auto last_rx = ws_.next_layer().last_read();
    if (last_rx > last_ping_)
        ping_outstanding_ = false;
    const auto silent = std::chrono::steady_clock::now() - last_rx;
    if (options_.keepalive_timeout.count() > 0 && silent >= options_.keepalive_timeout) {
        finish(error::keepalive_timeout, false);
        return hard_close();
    }
    if (options_.keepalive_interval.count() > 0 && silent >= options_.keepalive_interval &&
        !ping_outstanding_ && !pinging_ && !ws_closing_) {
        ping_outstanding_ = true;
        pinging_ = true;
        last_ping_ = std::chrono::steady_clock::now();
        ws_.async_ping({}, [self = this->shared_from_this()](const boost::system::error_code&) {
            self->pinging_ = false;
            if (self->close_after_ping_) {
                self->close_after_ping_ = false;
                self->ws_closing_ = false;
                self->begin_close(self->deferred_close_);
            }
        });
    }
    arm_keepalive();
}

template <class Stream>
void ws_link<Stream>::send_frame(frame f)
{
    if (closing())
        return;
    const auto size = f.body_size();
    bool overflow = false;
    bool start_write = false;
    {
        std::lock_guard lock(mu_);
        if (queued_.load(std::memory_order_relaxed) + size > options_.max_write_queue_bytes ||
            out_.size() >= options_.max_write_queue_frames) {
            overflow = true;
        } else {
            out_.push_back(std::move(f));
            queued_.fetch_add(size, std::memory_order_relaxed);
            start_write = open_ && !writing_;
            writing_ = writing_ || start_write;
        }
    }
    if (overflow) {
        // The peer stopped reading: closing fails the calls on this link with
        // `disconnected` instead of growing without bound.
        closing_ = true;
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
            self->finish(error::queue_full, false);
            self->hard_close();
        });
    } else if (start_write) {
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
    }
}

template <class Stream>
void ws_link<Stream>::close_link(bool flush)
{
    closing_ = true;
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), flush] {
        bool busy;
        {
            std::lock_guard lock(self->mu_);
            busy = self->writing_;
        }
        if (flush && busy && self->started_) {
            self->close_when_flushed_ = true; // do_write closes once the queue is empty
        } else {
            self->finish(std::make_error_code(std::errc::operation_canceled), true);
            self->begin_close(websocket::close_code::normal);
        }
    });
}

template <class Stream>
void ws_link<Stream>::finish(std::error_code ec, bool local)
{
    if (closed_)
        return;
    closed_ = true;
    closing_ = true;
    keepalive_timer_.cancel();
    closed(ec, local);
}

template <class Stream>
void ws_link<Stream>::hard_close()
{
    ws_closing_ = true;
    close_after_ping_ = false;
    keepalive_timer_.cancel();
    // Boost 1.74: an operation that fails marks the stream failed but leaves Beast's
    // handshake/close timer armed, which keeps the io_context busy until it expires (10 s
    // by default). Turning the timeouts off cancels it.
    websocket::stream_base::timeout off;
    off.handshake_timeout = websocket::stream_base::none();
    off.idle_timeout = websocket::stream_base::none();
    off.keep_alive_pings = false;
    ws_.set_option(off);
    lowest_layer().close();
}

template <class Stream>
void ws_link<Stream>::begin_close(websocket::close_code code)
{
    if (ws_closing_)
        return;
    ws_closing_ = true;
    if (!started_)
        return hard_close(); // nothing to say to a peer that never completed the upgrade
    if (pinging_) { // Beast runs one control operation (ping, pong, close) at a time
        close_after_ping_ = true;
        deferred_close_ = code;
        return;
    }
    // Beast waits for a write in flight, sends the close frame, reads until the peer's close
    // frame and tears down; its handshake timeout bounds all of it.
    ws_.async_close(code, [self = this->shared_from_this()](const boost::system::error_code&) {
        self->hard_close();
    });
}

template <class Stream>
void ws_link<Stream>::do_read()
{
    ws_.async_read(rd_, [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                          std::size_t) { self->on_read(ec); });
}

template <class Stream>
void ws_link<Stream>::on_read(const boost::system::error_code& ec)
{
    if (closed_)
        return; // closing ourselves: Beast's close operation reads the rest
    if (ec) {
        finish(link_error(ec), false);
        return hard_close();
    }
    if (ws_.got_text()) {
        finish(ws_error::text_message, false);
        return begin_close(websocket::close_code::unknown_data);
    }
    auto data = rd_.cdata();
    deliver({static_cast<const char*>(data.data()), data.size()});
    rd_.consume(rd_.size());
    // One huge message must not pin its buffer for the life of the link.
    if (rd_.capacity() > (1u << 20))
        rd_.shrink_to_fit();
    if (!closed_)
        do_read();
}

template <class Stream>
void ws_link<Stream>::do_write()
{
    auto& batcher = ws_.next_layer();
    if (!closed_ && batcher.backlog() >= max_backlog) {
        batcher.release();
        waiting_drain_ = true; // the peer reads slower than we write: resume on drain
        return;
    }
    bool idle = false;
    {
        std::lock_guard lock(mu_);
        if (out_.empty() || closed_) {
            writing_ = false;
            idle = true;
        } else {
            // A burst is what was queued when it started: frames queued meanwhile wait for
            // the next one, so a busy link still flushes every burst promptly.
            if (burst_left_ == 0)
                burst_left_ = out_.size();
            inflight_ = std::move(out_.front());
            out_.pop_front();
        }
    }
    if (idle) {
        burst_left_ = 0;
        batcher.release(); // the burst leaves in one write
        if (close_when_flushed_ && !closed_) {
            finish(std::make_error_code(std::errc::operation_canceled), true);
            begin_close(websocket::close_code::normal);
        }
        return;
    }
    batcher.hold();
    auto body = inflight_.body();
    ws_.async_write(asio::buffer(body.data(), body.size()),
                    [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t) {
                        self->queued_.fetch_sub(self->inflight_.body_size(),
                                                std::memory_order_relaxed);
                        if (ec) {
                            self->finish(link_error(ec), false);
                            return self->hard_close();
                        }
                        if (--self->burst_left_ == 0)
                            self->ws_.next_layer().release();
                        self->do_write();
                    });
}

template class ws_link<plain_stream>;
template class ws_link<tls_stream>;

} // namespace mailroom::ws::detail
