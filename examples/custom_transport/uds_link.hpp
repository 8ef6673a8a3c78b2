#pragma once

// The I/O shared by both halves of the Unix-socket transport: a thin driver of mailroom's
// link core (<mailroom/link/...>). The core decides — what the next write carries, when the
// queue overflows, when to ping or give up, when a close may proceed — and this file only
// moves bytes and arms the timer.

#include "uds_transport.hpp"

#include <mailroom/link/close_sequence.hpp>
#include <mailroom/link/delivery_batch.hpp>
#include <mailroom/link/keepalive_clock.hpp>
#include <mailroom/link/write_queue.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/frame_parser.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>

namespace uds {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

/// One connected Unix socket carrying length-prefixed frames of `protocol`'s messages.
/// Everything but `send_frame` and `close_link` runs on the socket's strand.
class link : public std::enable_shared_from_this<link> {
public:
    link(stream_protocol::socket socket, link_options options, std::size_t max_frame_size,
         std::shared_ptr<const mailroom::wire_protocol> protocol);
    virtual ~link() = default;

    /// Any thread. Frames leave in call order; discarded once the link is closing.
    void send_frame(mailroom::frame f);

    /// Any thread, idempotent. `closed(ec, true)` follows; with `flush`, after the frames
    /// already queued were written.
    void close_link(bool flush);

    std::size_t queued() const noexcept { return queue_.queued_bytes(); }
    asio::any_io_executor executor() { return socket_.get_executor(); }

protected:
    /// On the strand, once connected: starts reading and the keepalive timer.
    void start();

    stream_protocol::socket& socket() noexcept { return socket_; }
    bool closing() const noexcept { return close_.closing(); }
    /// On the strand: `closed` was called.
    bool finished() const noexcept { return close_.finished(); }

    /// A received message other than the protocol's ping/pong, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (exactly once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

private:
    void fail(std::error_code ec, bool local);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void handle(std::span<const char> body);
    void do_write();
    void arm_timer();
    void on_tick();
    bool on_strand() const noexcept { return strand_ && strand_->running_in_this_thread(); }

    stream_protocol::socket socket_;
    asio::steady_timer timer_;
    mailroom::protocol::frame_parser parser_;
    const std::shared_ptr<const mailroom::wire_protocol> protocol_; // what a ping is
    // The socket's strand, when it has one: sends on it during a read are batched.
    std::optional<asio::strand<asio::any_io_executor>> strand_;

    std::mutex mu_; // guards queue_ (appended from any thread)
    mailroom::write_queue queue_;
    mailroom::close_sequence close_;

    // Strand only.
    mailroom::keepalive_clock keepalive_;
    mailroom::delivery_batch batch_;
    std::uint64_t ping_nonce_ = 0;
};

/// Asio's error codes as `std::error_code` (Boost.System converts them, keeping the message).
inline std::error_code to_std(const boost::system::error_code& ec)
{
    return static_cast<std::error_code>(ec);
}

} // namespace uds
