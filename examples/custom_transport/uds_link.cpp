#include "uds_link.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace uds {

using namespace std::chrono;

link::link(stream_protocol::socket socket, link_options options, std::size_t max_frame_size)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), parser_(max_frame_size),
      options_(options), last_rx_(steady_clock::now())
{
}

void link::start()
{
    last_rx_ = steady_clock::now();
    do_read();
    arm_timer();
}

void link::send_frame(mailroom::frame f)
{
    if (closing())
        return; // the station fails the calls when it learns of the close
    auto wire = f.wire();
    bool overflow = false, start_write = false;
    {
        std::lock_guard lock(mu_);
        if (queued_ + wire.size() > options_.max_write_queue_bytes) {
            overflow = true;
        } else {
            // Frames sent while a write is in flight pile up here and leave in one write.
            out_.insert(out_.end(), wire.begin(), wire.end());
            queued_ += wire.size();
            start_write = !writing_;
            writing_ = true;
        }
    }
    // Never inline: the caller may hold its own lock (the contract forbids inline handlers).
    if (overflow) {
        closing_ = true;
        asio::post(executor(), [self = shared_from_this()] {
            self->shutdown(mailroom::error::queue_full, false);
        });
    } else if (start_write) {
        asio::post(executor(), [self = shared_from_this()] { self->do_write(); });
    }
}

void link::close_link(bool flush)
{
    closing_ = true;
    asio::post(executor(), [self = shared_from_this(), flush] {
        bool busy;
        {
            std::lock_guard lock(self->mu_);
            busy = self->writing_;
        }
        if (flush && busy)
            self->close_when_flushed_ = true;
        else
            self->shutdown(std::make_error_code(std::errc::operation_canceled), true);
    });
}

void link::shutdown(std::error_code ec, bool local)
{
    if (closed_)
        return;
    closed_ = true;
    closing_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    closed(ec, local);
}

void link::do_read()
{
    auto buf = parser_.prepare(); // adaptive: 4 KiB for a quiet link, up to 64 KiB for a busy one
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->on_read(ec, n); });
}

void link::on_read(const boost::system::error_code& ec, std::size_t n)
{
    if (closed_)
        return;
    if (ec)
        return shutdown(to_std(ec), false);
    parser_.commit(n);
    last_rx_ = steady_clock::now();
    ping_outstanding_ = false;
    std::error_code perr;
    while (!closing()) {
        auto body = parser_.next(perr);
        if (!body)
            break;
        // Keepalive stays in the transport; everything else goes up.
        const auto kind = mailroom::protocol::peek_kind(*body);
        std::uint64_t nonce = 0;
        if (kind == static_cast<std::uint8_t>(mailroom::protocol::message_kind::ping) &&
            mailroom::protocol::decode_keepalive(*body, nonce)) {
            mailroom::frame pong;
            mailroom::protocol::encode_pong(pong, nonce);
            send_frame(std::move(pong));
        } else if (kind != static_cast<std::uint8_t>(mailroom::protocol::message_kind::pong) ||
                   !mailroom::protocol::decode_keepalive(*body, nonce)) {
            deliver(*body);
        }
    }
    if (perr) // a length prefix above max_frame_size: frame_too_large
        return shutdown(perr, false);
    if (!closing())
        do_read();
}

void link::do_write()
{
    bool idle = false;
    {
        std::lock_guard lock(mu_);
        if (out_.empty() || closed_) {
            writing_ = false;
            idle = true;
        } else {
            inflight_.swap(out_);
            out_.clear();
        }
    }
    if (idle) {
        if (close_when_flushed_)
            shutdown(std::make_error_code(std::errc::operation_canceled), true);
        return;
    }
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          self->queued_ -= n;
                          if (ec)
                              return self->shutdown(to_std(ec), false);
                          self->do_write();
                      });
}

void link::arm_timer()
{
    const auto interval = options_.keepalive_interval, timeout = options_.keepalive_timeout;
    if (interval.count() <= 0 && timeout.count() <= 0)
        return;
    auto period = interval.count() > 0 ? interval : timeout / 2;
    if (timeout.count() > 0)
        period = std::min(period, timeout);
    timer_.expires_after(std::max(period, milliseconds(1)));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->closed_)
            return;
        const auto silent = steady_clock::now() - self->last_rx_;
        if (self->options_.keepalive_timeout.count() > 0 &&
            silent >= self->options_.keepalive_timeout)
            return self->shutdown(mailroom::error::keepalive_timeout, false);
        if (self->options_.keepalive_interval.count() > 0 &&
            silent >= self->options_.keepalive_interval && !self->ping_outstanding_) {
            self->ping_outstanding_ = true;
            mailroom::frame ping;
            mailroom::protocol::encode_ping(ping, ++self->ping_nonce_);
            self->send_frame(std::move(ping));
        }
        self->arm_timer();
    });
}

} // namespace uds
