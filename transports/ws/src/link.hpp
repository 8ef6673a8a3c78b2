#pragma once

#include "batch_codec.hpp"
#include "guarded_stream.hpp"

#include <mailroom/detail/config.hpp>
#include <mailroom/link/close_sequence.hpp>
#include <mailroom/link/delivery_batch.hpp>
#include <mailroom/link/handshake_guard.hpp>
#include <mailroom/link/keepalive_clock.hpp>
#include <mailroom/link/write_queue.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/ws/options.hpp>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace mailroom::ws::detail {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

/// The strand every handler of a link runs on.
using strand_type = asio::strand<asio::any_io_executor>;
/// What a plain link's WebSocket runs over.
using plain_layer = beast::tcp_stream;
/// What a TLS (`wss`) link's WebSocket runs over.
using tls_layer = asio::ssl::stream<beast::tcp_stream>;

/** One WebSocket carrying mailroom frames, on Beast's `websocket::stream` over `Next`
    (@ref plain_layer or @ref tls_layer; both instantiated in link.cpp): the I/O the mail box
    and the server connection share once the upgrade is done (the subclass does the upgrade).

    A driver of the link core (<mailroom/link/...>), like the TCP transport's framed stream:
    the @ref mailroom::write_queue (held until the upgrade is done) bounds and coalesces the
    writes, the @ref mailroom::keepalive_clock times the pings, the
    @ref mailroom::close_sequence orders the close and a @ref mailroom::delivery_batch holds
    the write of frames sent on the strand while a message is delivered.

    Framing (batch_codec.hpp): with the batch subprotocol, one binary message carries the
    frames queued since the last write, up to 64 KiB; without it, one body per message.
    Writes coalesce: frames sent while a write is in flight leave together in the next one,
    with no timer; frames sent on the strand while a message is being delivered leave once
    it was delivered, without a post. The write queue is bounded in bytes and frames; beyond
    either the link closes with `error::queue_full`.

    Reading: Beast refuses a message above the limit from its header (close 1009,
    `error::frame_too_large`) and any RFC 6455 violation (close 1002); this class closes a
    text message with 1003 (`ws_error::text_message`), a batch that ends inside a frame with
    1002 (`ws_error::truncated_frame`), a body above `max_frame_size` with 1009, and, when
    the subclass turned the guard on, a message that never ends with 1008
    (`ws_error::unfinished_message`).

    Keepalive: a periodic check on the strand, with the TCP transport's rules
    (docs/protocol.md, section 9): liveness is any bytes received; WebSocket pings after
    `keepalive_interval` of silence, `error::keepalive_timeout` after `keepalive_timeout`.

    Closing: `finish` reports the close upward once; the close frame goes out after the
    frames already queued when the close flushes (a refusal the peer must read). This end
    writes it itself, under Beast, once a ping in flight ended and the read is cancelled
    (Beast 1.74's `async_close` can deadlock with a running read), then runs Beast's
    teardown: the socket closes at the peer's answer or close, within `handshake_timeout`
    of the close. A close the peer starts is Beast's: it answers and tears down.

    Threads: everything but `send_frame`, `close_link` and `queued` runs on the strand.
*/
template <class Next>
class ws_link : public std::enable_shared_from_this<ws_link<Next>> {
public:
    using layer_type = guarded_stream<Next>;
    using websocket_type = websocket::stream<layer_type>;
    static constexpr bool tls = !std::is_same_v<Next, plain_layer>;

    /// `args` construct `Next` (the socket or executor, and the TLS context for TLS).
    template <class... Args>
    ws_link(strand_type strand, const stream_options& options, std::size_t max_frame_size,
            Args&&... args)
        : strand_(std::move(strand)), ws_(std::forward<Args>(args)...), timer_(strand_),
          options_(options), max_frame_size_(max_frame_size), body_limit_(max_frame_size),
          queue_({.max_bytes = options.max_write_queue_bytes,
                  .max_frames = options.max_write_queue_frames},
                 true),
          keepalive_({.interval = options.keepalive_interval,
                      .timeout = options.keepalive_timeout,
                      .stall = options.keepalive_stall})
    {
    }
    virtual ~ws_link() = default;

    /// Thread-safe; discarded once the link is closing. Queued until the link is open.
    void send_frame(frame f);

    /** Thread-safe, idempotent: `closed(ec, true)` follows on the strand. With `flush`, frames
        already queued are written before the close frame. A `reason` (the peer broke the
        protocol) goes in the close frame: 1009 for frame_too_large, 1002 for protocol_error,
        1008 for anything else, with the reason's message; none: 1000.
    */
    void close_link(bool flush, std::error_code reason = {});

    std::size_t queued() const noexcept { return queue_.queued_bytes(); }

    const strand_type& executor() const noexcept { return strand_; }

protected:
    websocket_type& ws() noexcept { return ws_; }
    /// The stream under the WebSocket, for the upgrade's TLS and HTTP (TLS or TCP).
    Next& http_stream() noexcept { return ws_.next_layer().next_layer(); }
    beast::tcp_stream& tcp() noexcept { return beast::get_lowest_layer(ws_); }
    bool closing() const noexcept { return close_.closing(); }
    /// On the strand: the close was reported.
    bool finished() const noexcept { return close_.finished(); }
    const stream_options& options() const noexcept { return options_; }

    /** On the strand, once the upgrade is done: `batch` tells the framing. Frames queued or
        sent from now on are written. With `guard_frames` or `guard_time`, a message must end
        within that many data frames and that time (server side: the upgrade read nothing
        ahead, so every byte from now on is a WebSocket frame).
    */
    void enable(beast::role_type role, bool batch, std::size_t guard_frames = 0,
                std::chrono::milliseconds guard_time = {});

    /// On the strand, after `enable`: starts reading and keepalive.
    void start();

    /** On the strand, after `enable` and before `start` (a server link): enforces `limits`
        until @ref handshake_complete — a smaller body limit (close 1009; not with batches,
        whose one message may carry the hello and the calls behind it), and a deadline
        that closes the link with 1008 and `error::handshake_timeout` (nothing the peer
        sends moves it).
    */
    void expect_handshake(const handshake_limits& limits);

    /// On the strand: the peer completed the handshake; the limits above are lifted.
    void handshake_complete();

    /// On the strand: reports the close upward (once) without touching the socket.
    void finish(std::error_code ec, bool local);

    /// On the strand: closes the socket at once; every pending operation is aborted.
    void hard_close();

    /// One received frame body, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

    /** The peer left a keepalive ping unanswered for `keepalive_stall` (true), or answered
        at last (false), on the strand. A client's mail box tells its station.
    */
    virtual void stall_changed(bool /*stalled*/) {}

private:
    void do_write();
    void write_message(std::size_t i);
    void on_written(const boost::system::error_code& ec, std::size_t i);
    void drop_queue();
    void begin_close(websocket::close_reason reason, bool flush);
    void send_close();
    void write_close_frame();
    void fail(std::error_code ec, websocket::close_code code);

    void do_read();
    void on_read(const boost::system::error_code& ec);
    void on_message();

    void arm_keepalive();
    void on_keepalive();
    /// Tells `stall_changed` if the keepalive's stall changed since it last did.
    void report_stall();

    strand_type strand_;
    websocket_type ws_;
    asio::steady_timer timer_;
    const stream_options options_;
    const std::size_t max_frame_size_;
    std::size_t body_limit_; // max_frame_size_, or less before the handshake

    std::mutex mu_; // guards queue_ (appended from any thread; `written` is strand-only)
    write_queue queue_; // held until enable()
    close_sequence close_;

    // Strand only.
    keepalive_clock keepalive_;
    bool stall_reported_ = false;
    handshake_guard handshake_;
    delivery_batch batch_;
    bool batch_framing_ = false;
    bool started_ = false;
    bool socket_closed_ = false;
    std::vector<std::span<const char>> messages_; // the current write, planned
    beast::role_type role_ = beast::role_type::server;
    bool read_running_ = false;    // an async_read runs
    bool close_sent_ = false;      // send_close ran: no read starts any more
    bool close_written_ = false;   // the close frame's write started (or Beast's is out)
    bool read_cancelled_ = false;  // send_close cancelled the read
    std::string close_frame_;
    websocket::close_reason close_reason_;
    bool ping_in_flight_ = false;   // an async_ping runs
    std::chrono::milliseconds guard_time_{0};
    beast::flat_buffer rbuf_;
    std::vector<std::span<const char>> bodies_;
};

/// How an error from an open link is reported upward (Beast's codes, and timeouts).
std::error_code link_error(const boost::system::error_code& ec);

} // namespace mailroom::ws::detail
