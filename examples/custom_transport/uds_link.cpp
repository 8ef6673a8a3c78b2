#include "uds_link.hpp"

#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace uds {

using namespace std::chrono;
using mailroom::keepalive_clock;
using mailroom::write_queue;

namespace {

/// Without pings an idle link is silent on both ends: the end that would have pinged keeps
/// it; one that never pings (the server) still drops a peer silent for its timeout.
mailroom::keepalive_settings keepalive_of(const link_options& o, const mailroom::wire_protocol& p)
{
    if (!p.has_pings() && o.keepalive_interval.count() > 0)
        return {.interval = milliseconds(0), .timeout = milliseconds(0)};
    return {.interval = o.keepalive_interval, .timeout = o.keepalive_timeout};
}

} // namespace

link::link(stream_protocol::socket socket, link_options options, std::size_t max_frame_size,
           std::shared_ptr<const mailroom::wire_protocol> protocol)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), parser_(max_frame_size),
      protocol_(protocol ? std::move(protocol) : mailroom::native_protocol()),
      queue_({.max_bytes = options.max_write_queue_bytes,
              .max_frames = options.max_write_queue_frames}),
      keepalive_(keepalive_of(options, *protocol_))
{
    if (const auto* s = socket_.get_executor().target<asio::strand<asio::any_io_executor>>())
        strand_ = *s; // a copy shares the strand: running_in_this_thread holds for both
}

void link::start()
{
    keepalive_.received(steady_clock::now()); // silence counts from now
    do_read();
    arm_timer();
}

void link::send_frame(mailroom::frame f)
{
    if (close_.closing())
        return; // the station fails the calls when it learns of the close
    write_queue::append_result r;
    {
        std::lock_guard lock(mu_);
        r = queue_.append(f.wire());
    }
    if (r == write_queue::append_result::overflow) {
        // The peer stopped reading: closing fails the calls on this link instead of growing
        // without bound.
        close_.mark_closing();
        asio::post(executor(), [self = shared_from_this()] {
            self->fail(mailroom::error::queue_full, false);
        });
    } else if (r == write_queue::append_result::start_write) {
        // Sent on the strand while a read's frames are delivered (a reply): it leaves with
        // the others once they all were. Otherwise never inline: the caller may hold its own
        // lock (the contract forbids inline handlers).
        if (!(on_strand() && batch_.defer()))
            asio::post(executor(), [self = shared_from_this()] { self->do_write(); });
    }
}

void link::close_link(bool flush)
{
    close_.mark_closing();
    asio::post(executor(), [self = shared_from_this(), flush] {
        bool writing;
        {
            std::lock_guard lock(self->mu_);
            writing = self->queue_.writing();
        }
        if (self->close_.request(flush, writing) == mailroom::close_sequence::step::close_now)
            self->fail(std::make_error_code(std::errc::operation_canceled), true);
        // step::after_flush: do_write closes once the queue is empty.
    });
}

void link::fail(std::error_code ec, bool local)
{
    if (!close_.finish())
        return;
    {
        std::lock_guard lock(mu_);
        queue_.discard(true);
    }
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
    if (close_.finished())
        return;
    if (ec)
        return fail(to_std(ec), false);
    parser_.commit(n);
    keepalive_.received(steady_clock::now());
    std::error_code perr;
    batch_.begin(); // replies sent by the handlers leave together at its end
    while (!close_.closing()) {
        auto body = parser_.next(perr);
        if (!body)
            break;
        handle(*body);
    }
    if (batch_.end())
        do_write();
    if (perr) // a length prefix above max_frame_size: frame_too_large
        return fail(perr, false);
    if (!close_.closing())
        do_read();
}

void link::handle(std::span<const char> body)
{
    // The protocol's keepalive stays in the link; everything else goes up.
    using keepalive = mailroom::wire_protocol::keepalive;
    std::uint64_t nonce = 0;
    switch (protocol_->keepalive_of(body, nonce)) {
    case keepalive::ping: {
        mailroom::frame pong;
        protocol_->encode_pong(pong, nonce);
        return send_frame(std::move(pong));
    }
    case keepalive::pong:
        return;
    case keepalive::none:
        return deliver(body);
    }
}

void link::do_write()
{
    std::span<const char> batch;
    {
        std::lock_guard lock(mu_);
        batch = queue_.take_batch(); // every frame sent since the previous write
    }
    if (batch.empty()) {
        if (close_.drained()) // a close with flush waited for this
            fail(std::make_error_code(std::errc::operation_canceled), true);
        return;
    }
    asio::async_write(socket_, asio::buffer(batch.data(), batch.size()),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          {
                              std::lock_guard lock(self->mu_);
                              self->queue_.written(n);
                          }
                          if (ec)
                              return self->fail(to_std(ec), false);
                          self->do_write();
                      });
}

void link::arm_timer()
{
    if (!keepalive_.enabled())
        return;
    timer_.expires_after(keepalive_.period());
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_tick();
    });
}

void link::on_tick()
{
    if (close_.finished())
        return;
    switch (keepalive_.tick(steady_clock::now())) {
    case keepalive_clock::action::close:
        return fail(mailroom::error::keepalive_timeout, false);
    case keepalive_clock::action::send_ping: {
        mailroom::frame ping;
        if (!protocol_->encode_ping(ping, ++ping_nonce_))
            break; // the protocol has no pings: silence alone decides
        batch_.begin(); // the ping leaves when the tick ends, without a post
        send_frame(std::move(ping));
        if (batch_.end())
            do_write();
        break;
    }
    case keepalive_clock::action::none:
        break;
    }
    arm_timer();
}

} // namespace uds
