#pragma once

// The I/O shared by both halves of the Unix-socket transport: a read loop that splits the
// byte stream into frames, a write queue that coalesces frames sent while a write is in
// flight, and the keepalive timer.

#include "uds_transport.hpp"

#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/frame_parser.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

namespace uds {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

/// One connected Unix socket carrying length-prefixed frames. Everything but `send_frame`
/// and `close_link` runs on the socket's strand.
class link : public std::enable_shared_from_this<link> {
public:
    link(stream_protocol::socket socket, link_options options, std::size_t max_frame_size);
    virtual ~link() = default;

    /// Any thread. Frames leave in call order; discarded once the link is closing.
    void send_frame(mailroom::frame f);

    /// Any thread, idempotent. `closed(ec, true)` follows; with `flush`, after the frames
    /// already queued were written.
    void close_link(bool flush);

    std::size_t queued() const noexcept { return queued_.load(); }
    asio::any_io_executor executor() { return socket_.get_executor(); }

protected:
    /// On the strand, once connected: starts reading and the keepalive timer.
    void start();

    stream_protocol::socket& socket() noexcept { return socket_; }
    bool closing() const noexcept { return closing_.load(); }
    /// On the strand: `closed` was called.
    bool finished() const noexcept { return closed_; }

    /// A received message other than ping/pong, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (exactly once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

private:
    void shutdown(std::error_code ec, bool local);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void do_write();
    void arm_timer();

    stream_protocol::socket socket_;
    asio::steady_timer timer_;
    mailroom::protocol::frame_parser parser_;
    const link_options options_;

    std::mutex mu_; // guards out_ and writing_
    std::vector<char> out_;
    bool writing_ = false;
    std::vector<char> inflight_;       // strand only
    bool close_when_flushed_ = false;  // strand only
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> closing_{false};

    bool closed_ = false; // strand only
    std::chrono::steady_clock::time_point last_rx_;
    bool ping_outstanding_ = false;
    std::uint64_t ping_nonce_ = 0;
};

/// Asio's error codes as `std::error_code` (Boost.System converts them, keeping the message).
inline std::error_code to_std(const boost::system::error_code& ec)
{
    return static_cast<std::error_code>(ec);
}

} // namespace uds
