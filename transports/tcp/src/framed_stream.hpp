#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/frame_parser.hpp>
#include <mailroom/tcp/options.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

namespace mailroom::tcp::detail {

/// A plain TCP socket.
using plain_socket = asio::ip::tcp::socket;
/// TLS over a TCP socket.
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;

/** A length-prefixed message stream over one TCP socket (`plain_socket`), or a TLS stream
    over one (`tls_socket`): the I/O shared by the mail box and the server connection.
    Templated rather than virtual so that the plain path pays nothing for TLS; both are
    instantiated in framed_stream.cpp.

    Everything but `send` and `close` runs on the socket's strand. Writes coalesce: frames
    sent while a write is in flight are appended to one buffer that leaves in the next write,
    so a burst of N calls costs one syscall, with no flush timer. Pings and pongs are
    answered and consumed here; everything else goes to `deliver`.
*/
template <class Socket>
class framed_stream : public std::enable_shared_from_this<framed_stream<Socket>> {
public:
    using socket_type = Socket;
    using clock = std::chrono::steady_clock;

    framed_stream(socket_type socket, stream_options options, std::size_t max_frame_size);
    /// Wraps `socket` in TLS with `ctx` (a `tls_socket` stream only).
    framed_stream(asio::ip::tcp::socket socket, asio::ssl::context& ctx, stream_options options,
                  std::size_t max_frame_size)
        requires std::is_same_v<Socket, tls_socket>;
    virtual ~framed_stream() = default;

    /// Thread-safe; discarded once the stream is closing.
    void send_frame(frame f);

    /** Thread-safe, idempotent: closes on the strand; `closed(ec, true)` follows. With
        `flush`, frames already queued are written first (a refusal the peer must read).
    */
    void close_stream(bool flush);

    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }

    /// The strand every handler of this stream runs on.
    asio::any_io_executor executor() { return socket_.get_executor(); }

    /// The TCP socket under any TLS layer.
    asio::ip::tcp::socket& tcp_socket() noexcept
    {
        if constexpr (std::is_same_v<Socket, plain_socket>)
            return socket_;
        else
            return socket_.next_layer();
    }

protected:
    /// Starts reading and the keepalive timer; call on the strand once connected.
    void start();

    socket_type& socket() noexcept { return socket_; }
    bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }
    /// On the strand: `closed` was called.
    bool finished() const noexcept { return closed_; }

    /// Closes on the strand with `ec`; `local` tells whether this end asked for it.
    void shutdown(std::error_code ec, bool local);

    /// A received message other than ping/pong, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The stream closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

private:
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void handle(std::span<const char> body);
    void do_write();
    void arm_timer();
    void on_tick();

    socket_type socket_;
    asio::steady_timer timer_;
    protocol::frame_parser parser_;
    const stream_options options_;

    std::mutex mu_; // guards out_ and writing_
    std::vector<char> out_;
    bool writing_ = false;
    std::vector<char> inflight_; // strand only
    std::size_t out_frames_ = 0;      // frames in out_ (guarded by mu_)
    std::size_t inflight_frames_ = 0; // frames in inflight_ (guarded by mu_)
    bool close_when_flushed_ = false; // strand only
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> closing_{false};

    bool closed_ = false; // strand only
    clock::time_point last_rx_;
    bool ping_outstanding_ = false;
    std::uint64_t ping_nonce_ = 0;
};

} // namespace mailroom::tcp::detail
