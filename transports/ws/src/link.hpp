#pragma once

#include "batching_stream.hpp"

#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/ws/options.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <utility>

namespace mailroom::ws::detail {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

/// A WebSocket over plain TCP.
using plain_stream = websocket::stream<batching_stream<beast::tcp_stream>>;
/// A WebSocket over TLS over TCP (`wss`).
using tls_stream = websocket::stream<batching_stream<beast::ssl_stream<beast::tcp_stream>>>;

/** One open WebSocket carrying mailroom frames: the I/O shared by the mail box and the server
    connection, for `plain_stream` and `tls_stream` (both instantiated in link.cpp).

    Framing: one frame body per binary message. Everything but `send_frame` and `close_link`
    runs on the stream's strand. Frames sent while a write is in flight wait in a queue and
    leave as separate messages, back to back, in order; the @ref batching_stream under the
    WebSocket puts the messages written while a socket write is in flight into the next one. A text message closes the link with
    close code 1003 (`ws_error::text_message`); a message above `max_frame_size` is refused
    by Beast with 1009 (`error::frame_too_large`); keepalive sends WebSocket pings from a
    periodic check, as the TCP transport does with protocol pings (`error::keepalive_timeout`).
    Beast's own idle timeout is not used: it re-arms a timer for every message read (a
    quarter of the per-message cost here) and, without its pings, ignores received pings.

    Closing: `finish` reports the close upward once; `begin_close` sends a close frame and
    tears the socket down when the peer answers or after `handshake_timeout`.
*/
template <class Stream>
class ws_link : public std::enable_shared_from_this<ws_link<Stream>> {
public:
    using stream_type = Stream;

    /// `args` construct the WebSocket stream (its next layer).
    template <class... Args>
    ws_link(const stream_options& options, std::size_t max_frame_size, Args&&... args)
        : ws_(std::forward<Args>(args)...), options_(options), max_frame_size_(max_frame_size)
    {
    }
    virtual ~ws_link() = default;

    /// Thread-safe; discarded once the link is closing. Queued until the link is open.
    void send_frame(frame f);

    /** Thread-safe, idempotent: `closed(ec, true)` follows on the strand. With `flush`, frames
        already queued are written first (a refusal the peer must read).
    */
    void close_link(bool flush);

    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }

    /// The strand every handler of this link runs on.
    asio::any_io_executor executor() { return ws_.get_executor(); }

protected:
    /// Settings and timeouts on the stream; call on the strand before any handshake.
    void configure();

    /// On the strand, once the WebSocket handshake is done: frames queued or sent from now on
    /// are written. Idempotent.
    void enable_writes();

    /// On the strand, once the WebSocket handshake is done: starts reading and keepalive
    /// (and writing, if not yet).
    void start();

    stream_type& ws() noexcept { return ws_; }
    /// The layer under the batching one: the TCP stream, or the TLS stream over it. The
    /// upgrade's HTTP goes straight through it, so a refusal is on the wire before the close.
    auto& inner() noexcept { return ws_.next_layer().next_layer(); }
    beast::tcp_stream& lowest_layer() noexcept { return beast::get_lowest_layer(ws_); }
    bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }
    /// On the strand: the close was reported.
    bool finished() const noexcept { return closed_; }
    const stream_options& options() const noexcept { return options_; }

    /// On the strand: reports the close upward (once) without touching the socket.
    void finish(std::error_code ec, bool local);

    /// On the strand: closes the socket at once; every pending operation is aborted.
    void hard_close();

    /// A received binary message, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

private:
    void begin_close(websocket::close_code code);
    void arm_keepalive();
    void on_keepalive_tick();
    void do_read();
    void on_read(const boost::system::error_code& ec);
    void do_write();

    stream_type ws_;
    const stream_options options_;
    const std::size_t max_frame_size_;
    beast::flat_buffer rd_; // strand only

    std::mutex mu_; // guards out_, writing_ and open_
    std::deque<frame> out_;
    bool writing_ = false;
    bool open_ = false;
    frame inflight_;                  // strand only
    bool close_when_flushed_ = false; // strand only
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> closing_{false};

    asio::steady_timer keepalive_timer_{ws_.get_executor()};
    std::chrono::steady_clock::time_point last_ping_{}; // strand only
    bool ping_outstanding_ = false;                     // strand only
    bool pinging_ = false; // strand only: an async_ping runs (Beast allows one control op)
    bool close_after_ping_ = false;                     // strand only
    websocket::close_code deferred_close_ = websocket::close_code::normal;
    bool waiting_drain_ = false; // strand only: writes wait for the batching layer
    std::size_t burst_left_ = 0; // strand only: messages of this burst not written yet
    bool closed_ = false;     // strand only: finish() ran
    bool ws_closing_ = false; // strand only: close frame sent or socket closed
    bool started_ = false;    // strand only: the WebSocket is open
};

/// How a Beast or Asio error from an open link is reported upward.
std::error_code link_error(const boost::system::error_code& ec);

} // namespace mailroom::ws::detail
