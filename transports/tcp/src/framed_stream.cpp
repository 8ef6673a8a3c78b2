#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace mailroom::tcp::detail {

template <class Socket>
framed_stream<Socket>::framed_stream(socket_type socket, stream_options options,
                                     std::size_t max_frame_size)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), parser_(max_frame_size),
      options_(options), last_rx_(clock::now())
{
}

template <class Socket>
framed_stream<Socket>::framed_stream(asio::ip::tcp::socket socket, asio::ssl::context& ctx,
                                     stream_options options, std::size_t max_frame_size)
    requires std::is_same_v<Socket, tls_socket>
    : socket_(std::move(socket), ctx), timer_(socket_.get_executor()), parser_(max_frame_size),
      options_(options), last_rx_(clock::now())
{
}

template <class Socket>
void framed_stream<Socket>::start()
{
    last_rx_ = clock::now();
    do_read();
    arm_timer();
}

template <class Socket>
void framed_stream<Socket>::send_frame(frame f)
{
    if (closing())
        return;
    auto wire = f.wire();
    bool overflow = false;
    bool start_write = false;
    {
        std::lock_guard lock(mu_);
        if (queued_.load(std::memory_order_relaxed) + wire.size() > options_.max_write_queue_bytes ||
            out_frames_ + inflight_frames_ >= options_.max_write_queue_frames) {
            overflow = true;
        } else {
            ++out_frames_;
            out_.insert(out_.end(), wire.begin(), wire.end());
            queued_.fetch_add(wire.size(), std::memory_order_relaxed);
            start_write = !writing_;
            writing_ = true;
        }
    }
    if (overflow) {
        // The peer stopped reading: holding more would grow without bound. Closing fails
        // the calls on this link with `disconnected` instead of losing them silently.
        closing_ = true;
        asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
            self->shutdown(error::queue_full, false);
        });
    } else if (start_write) {
        asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
    }
}

template <class Socket>
void framed_stream<Socket>::close_stream(bool flush)
{
    closing_ = true;
    asio::post(socket_.get_executor(), [self = this->shared_from_this(), flush] {
        bool busy;
        {
            std::lock_guard lock(self->mu_);
            busy = self->writing_;
        }
        if (flush && busy)
            self->close_when_flushed_ = true; // do_write closes once the queue is empty
        else
            self->shutdown(std::make_error_code(std::errc::operation_canceled), true);
    });
}

template <class Socket>
void framed_stream<Socket>::shutdown(std::error_code ec, bool local)
{
    if (closed_)
        return;
    closed_ = true;
    closing_ = true;
    boost::system::error_code ignored;
    tcp_socket().close(ignored);
    timer_.cancel();
    closed(ec, local);
}

template <class Socket>
void framed_stream<Socket>::do_read()
{
    auto buf = parser_.prepare(options_.read_size);
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->on_read(ec, n); });
}

template <class Socket>
void framed_stream<Socket>::on_read(const boost::system::error_code& ec, std::size_t n)
{
    if (closed_)
        return;
    if (ec)
        return shutdown(mailroom::detail::to_std_error(ec), false);
    parser_.commit(n);
    last_rx_ = clock::now();
    ping_outstanding_ = false;
    std::error_code perr;
    while (!closing()) {
        auto body = parser_.next(perr);
        if (!body)
            break;
        handle(*body);
    }
    if (perr)
        return shutdown(perr, false);
    if (!closing())
        do_read();
}

template <class Socket>
void framed_stream<Socket>::handle(std::span<const char> body)
{
    // Keepalive traffic stays in the transport; anything that merely looks like it (a
    // malformed ping) goes up, where the core treats it as the protocol error it is.
    const auto kind = protocol::peek_kind(body);
    std::uint64_t nonce = 0;
    if (kind == static_cast<std::uint8_t>(protocol::message_kind::ping) &&
        protocol::decode_keepalive(body, nonce)) {
        frame pong;
        protocol::encode_pong(pong, nonce);
        send_frame(std::move(pong));
    } else if (kind != static_cast<std::uint8_t>(protocol::message_kind::pong) ||
               !protocol::decode_keepalive(body, nonce)) {
        deliver(body);
    }
}

template <class Socket>
void framed_stream<Socket>::do_write()
{
    bool idle = false;
    {
        std::lock_guard lock(mu_);
        if (out_.empty() || closed_) {
            writing_ = false;
            idle = true;
            inflight_frames_ = 0;
        } else {
            inflight_.swap(out_);
            out_.clear();
            inflight_frames_ = std::exchange(out_frames_, 0);
        }
    }
    if (idle) {
        if (close_when_flushed_)
            shutdown(std::make_error_code(std::errc::operation_canceled), true);
        return;
    }
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t n) {
                          self->queued_.fetch_sub(n, std::memory_order_relaxed);
                          if (ec)
                              return self->shutdown(mailroom::detail::to_std_error(ec), false);
                          self->do_write();
                      });
}

template <class Socket>
void framed_stream<Socket>::arm_timer()
{
    using std::chrono::milliseconds;
    milliseconds period = options_.keepalive_interval.count() > 0 ? options_.keepalive_interval
                                                                  : options_.keepalive_timeout / 2;
    if (options_.keepalive_timeout.count() > 0 && options_.keepalive_timeout < period)
        period = options_.keepalive_timeout;
    if (options_.keepalive_interval.count() <= 0 && options_.keepalive_timeout.count() <= 0)
        return;
    period = std::max(period, milliseconds(1));
    timer_.expires_after(period);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_tick();
    });
}

template <class Socket>
void framed_stream<Socket>::on_tick()
{
    if (closed_)
        return;
    auto silent = clock::now() - last_rx_;
    if (options_.keepalive_timeout.count() > 0 && silent >= options_.keepalive_timeout)
        return shutdown(error::keepalive_timeout, false);
    if (options_.keepalive_interval.count() > 0 && silent >= options_.keepalive_interval &&
        !ping_outstanding_) {
        ping_outstanding_ = true;
        frame ping;
        protocol::encode_ping(ping, ++ping_nonce_);
        send_frame(std::move(ping));
    }
    arm_timer();
}

template class framed_stream<plain_socket>;
template class framed_stream<tls_socket>;

} // namespace mailroom::tcp::detail
