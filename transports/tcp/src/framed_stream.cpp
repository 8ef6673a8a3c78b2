#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace mailroom::tcp::detail {

namespace {

/// Write buffers keep up to this much capacity between bursts.
constexpr std::size_t write_keep_bytes = 64u << 10;

/// The stream whose strand scope this thread is in (see strand_scope), if any.
thread_local const void* current_scope = nullptr;

} // namespace

/** Marks this thread as running the stream's strand handler (a read's deliveries, a tick):
    a frame sent meanwhile does not post its write, which starts when the scope ends.
*/
template <class Socket>
class framed_stream<Socket>::strand_scope {
public:
    explicit strand_scope(framed_stream& s) noexcept : s_(s), outer_(current_scope)
    {
        current_scope = &s;
    }
    strand_scope(const strand_scope&) = delete;
    strand_scope& operator=(const strand_scope&) = delete;

    /// Ends the scope: starts the write its frames asked for.
    ~strand_scope()
    {
        current_scope = outer_;
        if (s_.flush_due_) {
            s_.flush_due_ = false;
            s_.do_write();
        }
    }

private:
    framed_stream& s_;
    const void* outer_;
};

template <class Socket>
framed_stream<Socket>::framed_stream(socket_type socket, stream_options options,
                                     std::size_t max_frame_size)
    requires(!tls)
    : socket_(std::move(socket)), timer_(socket_.get_executor()),
      parser_(max_frame_size, options.read_size, options.initial_read_size), options_(options),
      last_rx_(clock::now())
{
}

template <class Socket>
framed_stream<Socket>::framed_stream(tcp_socket_type socket,
                                     asio::ssl::context& ctx, stream_options options,
                                     std::size_t max_frame_size)
    requires(tls)
    : socket_(std::move(socket), ctx), timer_(socket_.get_executor()),
      parser_(max_frame_size, options.read_size, options.initial_read_size), options_(options),
      last_rx_(clock::now())
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
            out_.append(wire);
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
        if (current_scope == this)
            flush_due_ = true; // on the strand: written when the scope ends, with the rest
        else
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
    auto buf = parser_.prepare();
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->on_read(ec, n); });
}

template <class Socket>
void framed_stream<Socket>::on_read(const boost::system::error_code& ec, std::size_t n)
{
    if (closed_)
        return;
    if (std::exchange(rearm_read_, false) && ec == asio::error::operation_aborted) {
        // Cancelled by release_idle_buffers: read again, into the small buffer.
        parser_.release();
        return do_read();
    }
    if (ec)
        return shutdown(mailroom::detail::to_std_error(ec), false);
    parser_.commit(n);
    largest_read_ = std::max(largest_read_, n);
    last_rx_ = clock::now();
    ping_outstanding_ = false;
    std::error_code perr;
    {
        strand_scope scope(*this); // replies sent by the handlers leave together at its end
        while (!closing()) {
            auto body = parser_.next(perr);
            if (!body)
                break;
            handle(*body);
        }
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
    for (bool first = true;; first = false) {
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
        std::size_t done = 0;
        if constexpr (!tls) {
            // Try the write right here: the socket usually takes it all, and then no
            // operation, completion post or strand dispatch is needed. Once per call, so
            // that senders on other threads cannot keep this strand writing forever.
            if (first && inline_writes_) {
                boost::system::error_code ec;
                done = socket_.write_some(asio::buffer(inflight_.data(), inflight_.size()), ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again)
                    done = 0;
                else if (ec)
                    return shutdown(mailroom::detail::to_std_error(ec), false);
                queued_.fetch_sub(done, std::memory_order_relaxed);
                if (done == inflight_.size()) {
                    trim_written(done);
                    continue;
                }
            }
        }
        asio::async_write(socket_,
                          asio::buffer(inflight_.data() + done, inflight_.size() - done),
                          [self = this->shared_from_this(), done](
                              const boost::system::error_code& ec, std::size_t n) {
                              self->on_written(ec, done, n);
                          });
        return;
    }
}

template <class Socket>
void framed_stream<Socket>::on_written(const boost::system::error_code& ec, std::size_t before,
                                       std::size_t n)
{
    queued_.fetch_sub(n, std::memory_order_relaxed);
    if (ec)
        return shutdown(mailroom::detail::to_std_error(ec), false);
    trim_written(before + n);
    do_write();
}

template <class Socket>
void framed_stream<Socket>::trim_written(std::size_t n) noexcept
{
    // After a burst the buffers are much larger than the writes: give the excess back (the
    // two buffers take turns, so both shrink within two writes).
    if (inflight_.capacity() > write_keep_bytes && inflight_.capacity() / 4 > n)
        inflight_.release();
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
    release_idle_buffers();
    strand_scope scope(*this); // a ping leaves when the tick ends
    if (options_.keepalive_interval.count() > 0 && silent >= options_.keepalive_interval &&
        !ping_outstanding_) {
        ping_outstanding_ = true;
        frame ping;
        protocol::encode_ping(ping, ++ping_nonce_);
        send_frame(std::move(ping));
    }
    arm_timer();
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
        write_idle = !writing_; // then out_ is empty and no write is in flight or due
        if (write_idle) {
            if (out_.capacity() > small)
                out_.release();
            if (inflight_.capacity() > small)
                inflight_.release();
        }
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
