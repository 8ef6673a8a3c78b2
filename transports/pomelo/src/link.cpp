#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/pomelo/mqtt.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace mailroom::pomelo::detail {

namespace {

constexpr std::size_t min_read = 64u << 10;

write_queue_limits limits_of(const link_options& o)
{
    return {.max_bytes = o.max_write_queue_bytes, .max_frames = o.max_write_queue_frames};
}

} // namespace

template <class Strand>
mqtt_link<Strand>::mqtt_link(socket_type socket, const link_options& options)
    : socket_(std::move(socket)), strand_(socket_.get_executor()), timer_(strand_),
      options_(options), queue_(limits_of(options)),
      keepalive_({.interval = options.keepalive_interval, .timeout = options.keepalive_timeout,
                  .stall = options.keepalive_stall})
{
}

template <class Strand>
void mqtt_link<Strand>::start(std::string prefix)
{
    boost::system::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(options_.no_delay), ignored);
    if (!prefix.empty()) {
        bool overflow = false;
        bool start_write = false;
        {
            std::lock_guard lock(mu_);
            start_write = append_locked(prefix, overflow);
        }
        if (start_write)
            do_write();
    }
    keepalive_.received(clock::now());
    do_read();
    arm_timer();
}

template <class Strand>
bool mqtt_link<Strand>::append_locked(std::span<const char> bytes, bool& overflow)
{
    switch (queue_.append(bytes)) {
    case write_queue::append_result::start_write:
        return true;
    case write_queue::append_result::overflow:
        overflow = true;
        return false;
    default:
        return false;
    }
}

template <class Strand>
void mqtt_link<Strand>::send_body(frame f)
{
    if (closing())
        return;
    const auto body = f.body();
    bool overflow = false, start_write = false, post_batch = false;
    {
        std::lock_guard lock(mu_);
        if (options_.batch) {
            // The batch being gathered counts against the write queue's bound too.
            if (batch_.size() + body.size() + 2 > mqtt::max_remaining_length - 5 ||
                batch_.size() + body.size() + queue_.queued_bytes() >
                    options_.max_write_queue_bytes)
                overflow = true;
            else {
                batch_.push_back(batch_.empty() ? '[' : ',');
                batch_.append(body.data(), body.size());
                post_batch = !std::exchange(batch_posted_, true);
            }
        } else {
            char header[mqtt::max_publish_header];
            const auto n = mqtt::publish_header(body.size(), header);
            if (n == 0)
                overflow = true;
            else {
                start_write = append_locked({header, n}, overflow);
                if (!overflow)
                    start_write |= append_locked(body, overflow);
            }
        }
    }
    if (overflow) {
        // The peer stopped reading (or a message beyond MQTT's 256 MiB): holding more would
        // grow without bound. Closing fails the calls on this link instead of losing them.
        closing_.store(true, std::memory_order_relaxed);
        asio::post(strand_, [self = this->shared_from_this()] {
            self->shutdown(error::queue_full, false);
        });
        return;
    }
    if (post_batch)
        asio::post(strand_, [self = this->shared_from_this()] { self->flush_batch(); });
    if (start_write)
        post_write();
}

template <class Strand>
void mqtt_link<Strand>::post_write()
{
    // On the strand during a read's deliveries: written when they end, with the rest.
    if (strand_.running_in_this_thread() && deliveries_.defer())
        return;
    asio::post(strand_, [self = this->shared_from_this()] { self->do_write(); });
}

template <class Strand>
void mqtt_link<Strand>::flush_batch()
{
    bool overflow = false, start_write = false;
    {
        std::lock_guard lock(mu_);
        batch_posted_ = false;
        if (batch_.empty())
            return;
        batch_.push_back(']');
        char header[mqtt::max_publish_header];
        const auto n = mqtt::publish_header(batch_.size(), header);
        start_write = append_locked({header, n}, overflow);
        if (!overflow)
            start_write |= append_locked(batch_, overflow);
        batch_.clear();
    }
    if (overflow)
        return shutdown(error::queue_full, false);
    if (start_write)
        do_write();
}

template <class Strand>
void mqtt_link<Strand>::close_link(bool flush)
{
    closing_.store(true, std::memory_order_relaxed);
    asio::post(strand_, [self = this->shared_from_this(), flush] {
        if (self->finished_)
            return;
        if (flush) {
            self->flush_batch();
            std::lock_guard lock(self->mu_);
            if (self->queue_.writing()) {
                self->close_after_flush_ = true; // do_write closes once the queue is empty
                return;
            }
        }
        self->shutdown(std::make_error_code(std::errc::operation_canceled), true);
    });
}

template <class Strand>
void mqtt_link<Strand>::shutdown(std::error_code ec, bool local)
{
    if (finished_)
        return;
    finished_ = true;
    closing_.store(true, std::memory_order_relaxed);
    {
        std::lock_guard lock(mu_);
        queue_.discard(true);
        batch_.clear();
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    closed(ec, local);
}

template <class Strand>
void mqtt_link<Strand>::do_read()
{
    if (in_begin_ == in_end_)
        in_begin_ = in_end_ = 0;
    // Room for a whole packet whose size is known, and for a large read under load.
    std::size_t want = min_read;
    {
        mqtt::packet p;
        std::size_t need = 0;
        const auto st = mqtt::parse({in_.data() + in_begin_, in_end_ - in_begin_},
                                    options_.max_packet_size, p, need);
        if (st == mqtt::parse_status::need_more && need > want)
            want = need;
    }
    if (in_.size() - in_end_ < std::min<std::size_t>(want, 4096) ||
        in_.size() - in_begin_ < want) {
        if (in_begin_ > 0) {
            std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
        }
        if (in_.size() < want || in_.size() - in_end_ < 4096)
            in_.resize(std::max(want, in_end_ + min_read));
    }
    socket_.async_read_some(
        asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
}

template <class Strand>
void mqtt_link<Strand>::on_read(const boost::system::error_code& ec, std::size_t n)
{
    if (finished_)
        return;
    if (ec)
        return shutdown(mailroom::detail::to_std_error(ec), false);
#ifdef TCP_QUICKACK
    if (options_.quick_ack) {
        // Linux turns quick ACKs off again by itself: re-armed after every read.
        int one = 1;
        ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
#endif
    in_end_ += n;
    keepalive_.received(clock::now());
    report_stall();
    deliveries_.begin(); // replies sent by the handlers leave together at its end
    const bool ok = handle_packets();
    if (deliveries_.end() && !finished_)
        do_write();
    if (ok && !closing())
        do_read();
}

template <class Strand>
bool mqtt_link<Strand>::handle_packets()
{
    while (!closing()) {
        mqtt::packet p;
        std::size_t consumed = 0;
        switch (mqtt::parse({in_.data() + in_begin_, in_end_ - in_begin_},
                            options_.max_packet_size, p, consumed)) {
        case mqtt::parse_status::need_more:
            return true;
        case mqtt::parse_status::too_large:
            shutdown(error::frame_too_large, false);
            return false;
        case mqtt::parse_status::malformed:
            shutdown(error::protocol_error, false);
            return false;
        case mqtt::parse_status::packet:
            break;
        }
        switch (p.type()) {
        case mqtt::packet_type::publish: {
            std::span<const char> payload;
            if (mqtt::publish_payload(p, payload))
                handle_publish(payload);
            break;
        }
        case mqtt::packet_type::pingreq: {
            bool overflow = false, start_write = false;
            {
                std::lock_guard lock(mu_);
                start_write = append_locked({mqtt::pingresp, 2}, overflow);
            }
            if (start_write)
                post_write();
            break;
        }
        case mqtt::packet_type::disconnect:
            // A stock peer never sends it; a client treats it as the server going away.
            shutdown(error::disconnected, false);
            return false;
        default:
            // CONNECT (no CONNACK: the stock server sends none and the stock client expects
            // none), PINGRESP (liveness is any byte), and packets pomelo-rpc ignores too.
            break;
        }
        in_begin_ += consumed;
    }
    return true;
}

template <class Strand>
void mqtt_link<Strand>::handle_publish(std::span<const char> payload)
{
    if (!mqtt::is_batch(payload))
        return deliver(payload);
    bool any = false;
    const bool whole = mqtt::split_array(payload, [&](std::span<const char> element) {
        any = true;
        deliver(element);
    });
    // Not a well-formed array: answered as one malformed message (unless parts went up).
    if (!whole && !any)
        deliver(payload);
}

template <class Strand>
void mqtt_link<Strand>::do_write()
{
    std::span<const char> bytes;
    {
        std::lock_guard lock(mu_);
        bytes = queue_.take_batch(); // every packet queued since the previous write
        if (bytes.empty()) {
            if (close_after_flush_)
                asio::post(strand_, [self = this->shared_from_this()] {
                    self->shutdown(std::make_error_code(std::errc::operation_canceled), true);
                });
            return;
        }
    }
    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                      [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) {
                          self->queue_.written(n);
                          if (self->finished_)
                              return;
                          if (ec)
                              return self->shutdown(mailroom::detail::to_std_error(ec), false);
                          self->do_write();
                      });
}

template <class Strand>
void mqtt_link<Strand>::arm_timer()
{
    if (!keepalive_.enabled())
        return;
    const auto now = clock::now();
    timer_.expires_after(std::chrono::ceil<std::chrono::milliseconds>(keepalive_.next_due(now) - now));
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_tick();
    });
}

template <class Strand>
void mqtt_link<Strand>::on_tick()
{
    if (finished_)
        return;
    switch (keepalive_.tick(clock::now())) {
    case keepalive_clock::action::close:
        return shutdown(error::keepalive_timeout, false);
    case keepalive_clock::action::send_ping: {
        report_stall();
        bool overflow = false, start_write = false;
        {
            std::lock_guard lock(mu_);
            start_write = append_locked({mqtt::pingreq, 2}, overflow);
        }
        if (start_write)
            do_write();
        break;
    }
    case keepalive_clock::action::none:
        report_stall();
        break;
    }
    arm_timer();
}

template <class Strand>
void mqtt_link<Strand>::report_stall()
{
    if (keepalive_.stalled() == stall_reported_ || finished_)
        return;
    stall_reported_ = keepalive_.stalled();
    stall_changed(stall_reported_);
}

template class mqtt_link<tcp::io_strand>;
template class mqtt_link<tcp::any_strand>;

} // namespace mailroom::pomelo::detail
