#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/tcp/tls_context.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace mailroom::tcp::detail {

namespace {

write_queue_limits limits_of(const stream_options& o)
{
    return {.max_bytes = o.max_write_queue_bytes, .max_frames = o.max_write_queue_frames};
}

keepalive_settings keepalive_settings_of(const stream_options& o, const wire_protocol& p)
{
    // Without pings an idle link is silent on both ends: the end that would have pinged
    // keeps it; one that never pings (a server) still drops a peer silent for its timeout.
    if (!p.has_pings() && o.keepalive_interval.count() > 0)
        return {.interval = std::chrono::milliseconds(0), .timeout = std::chrono::milliseconds(0)};
    return {.interval = o.keepalive_interval, .timeout = o.keepalive_timeout,
            .stall = o.keepalive_stall};
}

} // namespace

template <class Socket>
framed_stream<Socket>::framed_stream(socket_type socket, stream_options options,
                                     std::size_t max_frame_size,
                                     std::shared_ptr<const wire_protocol> protocol)
    requires(!tls)
    : socket_(std::move(socket)), strand_(socket_.get_executor()), timer_(strand_),
      parser_(max_frame_size, options.read_size, options.initial_read_size),
      max_frame_size_(max_frame_size), options_(options),
      protocol_(protocol ? std::move(protocol) : native_protocol()), queue_(limits_of(options)), keepalive_(keepalive_settings_of(options, *protocol_))
{
}

template <class Socket>
framed_stream<Socket>::framed_stream(tcp_socket_type socket, asio::ssl::context& ctx,
                                     stream_options options, std::size_t max_frame_size,
                                     std::shared_ptr<const wire_protocol> protocol)
    requires(tls)
    : socket_(std::move(socket), ctx), strand_(socket_.get_executor()), timer_(strand_),
      parser_(max_frame_size, options.read_size, options.initial_read_size),
      max_frame_size_(max_frame_size), options_(options),
      protocol_(protocol ? std::move(protocol) : native_protocol()), queue_(limits_of(options)), keepalive_(keepalive_settings_of(options, *protocol_))
{
}

template <class Socket>
void framed_stream<Socket>::start()
{
    if constexpr (!tls) {
        // For do_write's synchronous attempt: it must fail with would_block, never wait.
        boost::system::error_code ec;
        socket_.non_blocking(true, ec);
        inline_writes_ = !ec;
    }
    keepalive_.received(clock::now()); // silence counts from now
    do_read();
    arm_timer();
}

template <class Socket>
void framed_stream<Socket>::expect_handshake(const handshake_limits& limits)
{
    handshake_.arm(limits, clock::now());
    parser_.set_max_frame_size(handshake_.max_frame_size(max_frame_size_));
}

template <class Socket>
void framed_stream<Socket>::handshake_complete()
{
    handshake_.done();
    parser_.set_max_frame_size(max_frame_size_);
}

template <class Socket>
void framed_stream<Socket>::send_frame(frame f)
{
    if (close_.closing())
        return;
    write_queue::append_result r;
    {
        std::lock_guard lock(mu_);
        r = queue_.append(f.wire());
    }
    if (r == write_queue::append_result::start_write) {
        // On the strand during a read's deliveries (or a tick): written when the batch ends,
        // with the rest. batch_ is read only on the strand.
        if (!(strand_.running_in_this_thread() && batch_.defer()))
            asio::post(strand_, [self = this->shared_from_this()] { self->do_write(); });
    } else if (r == write_queue::append_result::overflow) {
        // The peer stopped reading: holding more would grow without bound. Closing fails
        // the calls on this link with `disconnected` instead of losing them silently.
        close_.mark_closing();
        asio::post(strand_, [self = this->shared_from_this()] {
            self->shutdown(error::queue_full, false);
        });
    }
}

template <class Socket>
void framed_stream<Socket>::close_stream(bool flush)
{
    close_.mark_closing();
    asio::post(strand_, [self = this->shared_from_this(), flush] {
        bool writing;
        {
            std::lock_guard lock(self->mu_);
            writing = self->queue_.writing();
        }
        if (self->close_.request(flush, writing) == close_sequence::step::close_now)
            self->shutdown(std::make_error_code(std::errc::operation_canceled), true);
        // step::after_flush: do_write closes once the queue is empty.
    });
}

template <class Socket>
void framed_stream<Socket>::shutdown(std::error_code ec, bool local)
{
    if (!close_.finish())
        return;
    {
        std::lock_guard lock(mu_);
        queue_.discard(true);
    }
    boost::system::error_code ignored;
    tcp_socket().close(ignored);
    timer_.cancel();
    closed(ec, local);
}

template <class Socket>
void framed_stream<Socket>::do_read()
{
    auto buf = parser_.prepare();
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->on_read(ec, n); });
}

template <class Socket>
void framed_stream<Socket>::on_read(const boost::system::error_code& ec, std::size_t n)
{
    if (close_.finished())
        return;
    if (std::exchange(rearm_read_, false) && ec == asio::error::operation_aborted) {
        // Cancelled by release_idle_buffers: read again, into the small buffer.
        parser_.release();
        return do_read();
    }
    if (ec) // a TLS alert refusing our client certificate gets its name (mutual TLS)
        return shutdown(read_error(ec), false);
    parser_.commit(n);
    largest_read_ = std::max(largest_read_, n);
    const auto now = clock::now();
    // Only a whole frame answers a ping: bytes of a frame that never completes keep the link
    // from looking silent, not open (issue 16: a corrupted length prefix hid the link's death).
    keepalive_.received_partial(now);
    std::error_code perr;
    bool whole = false;
    batch_.begin(); // replies sent by the handlers leave together at its end
    while (!closing()) {
        auto body = parser_.next(perr);
        if (!body)
            break;
        whole = true;
        handle(*body);
    }
    if (whole) {
        keepalive_.received(now);
        report_stall();
    }
    if (batch_.end())
        do_write();
    if (perr)
        return shutdown(perr, false);
    if (!closing())
        do_read();
}

template <class Socket>
void framed_stream<Socket>::handle(std::span<const char> body)
{
    // Keepalive traffic stays in the link; anything that merely looks like it (a malformed
    // ping) goes up, where the core treats it as the protocol error it is.
    std::uint64_t nonce = 0;
    switch (protocol_->keepalive_of(body, nonce)) {
    case wire_protocol::keepalive::ping: {
        frame pong;
        protocol_->encode_pong(pong, nonce);
        send_frame(std::move(pong));
        return;
    }
    case wire_protocol::keepalive::pong:
        return;
    case wire_protocol::keepalive::none:
        return deliver(body);
    }
}

template <class Socket>
void framed_stream<Socket>::do_write()
{
    for (bool first = true;; first = false) {
        std::span<const char> batch;
        {
            std::lock_guard lock(mu_);
            batch = queue_.take_batch(); // every frame sent since the previous write
        }
        if (batch.empty()) {
            if (close_.drained()) // a close with flush waited for this
                shutdown(std::make_error_code(std::errc::operation_canceled), true);
            return;
        }
        std::size_t done = 0;
        if constexpr (!tls) {
            // Try the write right here: the socket usually takes it all, and then no
            // operation, completion post or strand dispatch is needed. Once per call, so
            // that senders on other threads cannot keep this strand writing forever.
            if (first && inline_writes_) {
                boost::system::error_code ec;
                done = socket_.write_some(asio::buffer(batch.data(), batch.size()), ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again)
                    done = 0;
                else if (ec)
                    return shutdown(mailroom::detail::to_std_error(ec), false);
                queue_.written(done);
                if (done == batch.size())
                    continue;
            }
        }
        asio::async_write(socket_, asio::buffer(batch.data() + done, batch.size() - done),
                          [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t n) {
                              self->on_written(ec, n);
                          });
        return;
    }
}

template <class Socket>
void framed_stream<Socket>::on_written(const boost::system::error_code& ec, std::size_t n)
{
    queue_.written(n);
    if (ec)
        return shutdown(mailroom::detail::to_std_error(ec), false);
    do_write();
}

template <class Socket>
void framed_stream<Socket>::arm_timer()
{
    // Until the keepalive's next rule can fire, cut short by a handshake deadline that applies.
    const auto now = clock::now();
    const auto due = keepalive_.enabled()
                         ? std::chrono::ceil<std::chrono::milliseconds>(keepalive_.next_due(now) - now)
                         : std::chrono::milliseconds(0);
    const auto wait = handshake_.wait(now, due);
    if (wait.count() == 0)
        return;
    timer_.expires_after(wait);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_tick();
    });
}

template <class Socket>
void framed_stream<Socket>::on_tick()
{
    if (close_.finished())
        return;
    const auto now = clock::now();
    if (handshake_.expired(now)) // issue 16: pings and trickled bytes kept such links open
        return shutdown(error::handshake_timeout, false);
    const auto act = keepalive_.enabled() ? keepalive_.tick(now) : keepalive_clock::action::none;
    if (act == keepalive_clock::action::close)
        return shutdown(error::keepalive_timeout, false);
    report_stall();
    release_idle_buffers();
    frame ping;
    if (act == keepalive_clock::action::send_ping && protocol_->encode_ping(ping, ++ping_nonce_)) {
        batch_.begin(); // the ping leaves when the tick ends, without a post
        send_frame(std::move(ping));
        if (batch_.end())
            do_write();
    }
    arm_timer();
}

template <class Socket>
void framed_stream<Socket>::report_stall()
{
    if (keepalive_.stalled() == stall_reported_ || closing())
        return;
    stall_reported_ = keepalive_.stalled();
    stall_changed(stall_reported_);
}

template <class Socket>
void framed_stream<Socket>::release_idle_buffers()
{
    // Quiet since the previous tick: every read fitted in the initial buffer.
    const std::size_t small = std::min(options_.initial_read_size, options_.read_size);
    const bool quiet = std::exchange(largest_read_, 0) <= small;
    if (!quiet || closing())
        return;
    bool write_idle;
    {
        std::lock_guard lock(mu_);
        write_idle = queue_.release_idle(small); // idle: nothing queued, in flight or due
    }
    if constexpr (!tls) {
        // The pending read holds the buffer it was given: cancel it (nothing else is
        // outstanding on the socket then; a write can only start on this strand, later) and
        // read again into the initial size. A TLS link keeps its buffer: cancelling inside a
        // TLS record is not worth the risk next to the engine's own 34 KiB of buffers.
        if (write_idle && !rearm_read_ && parser_.buffered() == 0 &&
            parser_.capacity() > small) {
            boost::system::error_code ignored;
            rearm_read_ = true;
            socket_.cancel(ignored);
        }
    }
}

template class framed_stream<basic_plain_socket<io_strand>>;
template class framed_stream<basic_plain_socket<any_strand>>;
template class framed_stream<basic_tls_socket<io_strand>>;
template class framed_stream<basic_tls_socket<any_strand>>;

} // namespace mailroom::tcp::detail
