#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/tcp/detail/socket.hpp>
#include <mailroom/ws/options.hpp>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace mailroom::ws::detail {

// The strands, socket types and is_tls_v of the TCP transport, whose sockets a WebSocket
// rides on.
using tcp::detail::any_strand;
using tcp::detail::io_strand;
using tcp::detail::is_tls_v;
using tcp::detail::with_strand;

/// A WebSocket over plain TCP, its handlers on `Strand`.
template <class Strand>
using basic_plain_stream = tcp::detail::basic_plain_socket<Strand>;
/// A WebSocket over TLS over TCP (`wss`).
template <class Strand>
using basic_tls_stream = tcp::detail::basic_tls_socket<Strand>;

/** A view of `Stream` whose executor is type-erased, for Beast's HTTP operations (the opening
    handshake): Boost 1.74's Beast tracks work through the executor's `on_work_started`, which
    a `strand<any_io_executor>` forwards to an executor that does not have it.
*/
template <class Stream>
class http_view {
public:
    using executor_type = asio::any_io_executor;

    explicit http_view(Stream& s) noexcept : s_(&s) {}
    executor_type get_executor() noexcept { return s_->get_executor(); }

    template <class Buffers, class Handler>
    auto async_read_some(const Buffers& b, Handler&& h)
    {
        return s_->async_read_some(b, std::forward<Handler>(h));
    }
    template <class Buffers, class Handler>
    auto async_write_some(const Buffers& b, Handler&& h)
    {
        return s_->async_write_some(b, std::forward<Handler>(h));
    }

private:
    Stream* s_;
};

/// Which end of the WebSocket a link is: a client masks what it sends, a server must not.
enum class ws_role { client, server };

/** The subprotocol (`Sec-WebSocket-Protocol`) a mail box offers and an acceptor agrees to:
    each binary message carries a batch of length-prefixed frames (docs/protocol.md, section
    1.1). A peer that does not negotiate it gets one frame body per message.
*/
inline constexpr std::string_view batch_subprotocol = "mailroom.batch";

/// The largest batch message a sender builds; one frame larger than this travels alone.
inline constexpr std::size_t batch_message_max = 64u << 10;

/** One open WebSocket carrying mailroom frames (RFC 6455, no extensions): the I/O shared by
    the mail box and the server connection. `Stream` is a `basic_plain_stream` or
    `basic_tls_stream` over an `io_strand` or an `any_strand` (all four instantiated in
    link.cpp). The opening handshake (HTTP upgrade) is done by the subclass; from then on the
    link frames and parses WebSocket frames itself, straight on the socket (Beast's
    per-message operations cost several times a whole call over TCP).

    Framing, once open: with the batch subprotocol, one binary message carries the frames
    queued since the last write, each with its 4-byte big-endian length prefix (what the TCP
    transport writes), up to @ref batch_message_max bytes; without it, one frame body per
    message. Writes coalesce as in the TCP transport: frames sent while a write is in flight
    leave together in the next write, with no timer. Frames sent on the strand while a read is
    being delivered (replies, and the calls their completions make) are held until the whole
    read was delivered and then leave in one write, without a post; on a plain socket each
    write is first tried right there (non-blocking), and only what the kernel did not take
    goes through `async_write`. Received messages are split into frame bodies; a message
    that ends inside a frame closes with 1002 (`ws_error::truncated_frame`), a frame above
    `max_frame_size` or a message above the limit with 1009 (`error::frame_too_large`), a text
    message with 1003 (`ws_error::text_message`), any other violation of RFC 6455 with 1002. Fragmented messages and control frames between fragments are accepted; this end
    never fragments.

    Keepalive: WebSocket pings from a periodic check, as the TCP transport does with protocol
    pings (`error::keepalive_timeout`); received pings are answered with pongs.

    Memory: the read buffer starts at 4 KiB and doubles while reads fill it (to 64 KiB, or
    what one message needs). At each keepalive check, a link whose reads all fitted in 4 KiB
    since the previous check gives its write buffers back and (plain socket) restarts its
    read with a 4 KiB buffer.

    Threads: everything but `send_frame` and `close_link` runs on the strand.

    Closing: `finish` reports the close upward once; `begin_close` sends a close frame and
    tears the socket down when the peer answers or after `handshake_timeout`.
*/
template <class Stream>
class ws_link : public std::enable_shared_from_this<ws_link<Stream>> {
public:
    using stream_type = Stream;
    using executor_type = typename Stream::executor_type;
    static constexpr bool tls = is_tls_v<Stream>;
    /// The TCP socket (the whole of `Stream`, or the layer under TLS).
    using tcp_socket_type = asio::basic_stream_socket<asio::ip::tcp, executor_type>;

    /// `args` construct the stream (the socket, and the TLS context for a TLS stream).
    template <class... Args>
    ws_link(ws_role role, const stream_options& options, std::size_t max_frame_size, Args&&... args)
        : stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()), options_(options),
          max_frame_size_(max_frame_size), role_(role)
    {
        seed_masks();
    }
    virtual ~ws_link() = default;

    /// Thread-safe; discarded once the link is closing. Queued until the link is open.
    void send_frame(frame f);

    /** Thread-safe, idempotent: `closed(ec, true)` follows on the strand. With `flush`, frames
        already queued are written before the close frame (a refusal the peer must read).
    */
    void close_link(bool flush);

    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }

    /// The strand every handler of this link runs on.
    executor_type executor() noexcept { return stream_.get_executor(); }

protected:
    /// On the strand: bounds the opening handshake; when it expires the socket closes and the
    /// pending operation fails (`handshake_timed_out()` tells why).
    void arm_handshake_deadline();
    bool handshake_timed_out() const noexcept { return handshake_timed_out_; }

    /** On the strand, once the opening handshake is done: `batch` tells the framing, `early`
        are bytes read past the handshake (the start of the first messages). Frames queued or
        sent from now on are written. Idempotent.
    */
    void enable_writes(bool batch, std::span<const char> early = {});

    /// On the strand, after `enable_writes`: starts reading and keepalive.
    void start();

    stream_type& stream() noexcept { return stream_; }
    /// The stream, for Beast's HTTP operations; lives as long as the link.
    http_view<stream_type>& http_stream() noexcept { return http_; }
    tcp_socket_type& lowest_layer() noexcept
    {
        if constexpr (!tls)
            return stream_;
        else
            return stream_.next_layer();
    }
    bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }
    /// On the strand: the close was reported.
    bool finished() const noexcept { return closed_; }
    const stream_options& options() const noexcept { return options_; }

    /// On the strand: reports the close upward (once) without touching the socket.
    void finish(std::error_code ec, bool local);

    /// On the strand: closes the socket at once; every pending operation is aborted.
    void hard_close();

    /// One received frame body, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

private:
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>,
                                                  executor_type>;

    // Writing.
    void kick_write();
    void do_write();
    void on_written(const boost::system::error_code& ec);
    bool written(); // a write completed: false if that ended the link
    void add_message(const char* payload, std::size_t n);
    void queue_control(std::uint8_t opcode, std::span<const char> payload);
    void begin_close(std::uint16_t code, bool flush);
    std::uint32_t next_mask() noexcept;
    void seed_masks();

    // Reading.
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void process();
    bool on_message(char* payload, std::size_t n);
    bool on_control(std::uint8_t opcode, char* payload, std::size_t n);
    void fail(std::error_code ec, std::uint16_t close_code);
    void reserve_read(std::size_t total);
    void release_read_buffer();

    // Timer: opening handshake, then keepalive, then the closing handshake.
    void arm_timer(std::chrono::milliseconds after);
    void on_timer();
    void on_keepalive_tick();
    void release_idle_buffers();

    stream_type stream_;
    http_view<stream_type> http_{stream_};
    timer_type timer_;
    const stream_options options_;
    const std::size_t max_frame_size_;
    const ws_role role_;

    std::mutex mu_; // guards out_, out_frames_, inflight_frames_, writing_ and open_
    std::vector<char> out_; // frames in wire form (length prefix + body)
    std::size_t out_frames_ = 0;
    std::size_t inflight_frames_ = 0;
    bool writing_ = false; // a write chain runs (posted, or a write in flight)
    bool open_ = false;    // the handshake is done: writes may start
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> closing_{false};

    // Strand only, writing.
    bool batch_ = false;
    std::vector<char> inflight_;               // the frames of the write in flight
    std::vector<char> headers_;                // WebSocket headers of the write in flight
    std::vector<std::pair<std::size_t, std::size_t>> messages_; // (offset, size) in inflight_
    std::vector<asio::const_buffer> buffers_;  // what the write in flight sends
    std::vector<char> control_;                // control frames to send next
    std::vector<char> control_inflight_;
    std::vector<char> close_frame_;            // the close frame, once closing
    std::vector<char> tls_out_;                // TLS: the pieces of a write, put together
    std::size_t inflight_bytes_ = 0;           // queued_ to give back when the write completes
    bool write_inflight_ = false;
    bool flush_due_ = false;      // frames were sent inside a read: write when it is delivered
    bool inline_writes_ = false;  // plain socket, non-blocking: writes are tried right away
    bool close_in_write_ = false;
    bool close_written_ = false;
    bool close_flush_ = false;  // data queued before the close frame still goes out
    bool close_pending_ = false; // begin_close ran (close frame queued or written)
    bool close_received_ = false;
    std::uint64_t mask_state_ = 0;

    // Strand only, reading. The unread bytes are [rbeg_, rend_); a fragmented message being
    // assembled occupies [rbeg_, rbeg_ + msg_size_), and the next frame header is at scan_.
    std::unique_ptr<char[]> rbuf_;
    std::size_t rcap_ = 0;
    std::size_t rbeg_ = 0;
    std::size_t rend_ = 0;
    std::size_t scan_ = 0;
    std::size_t need_ = 0;      // bytes from rbeg_ the incomplete frame at scan_ needs
    std::size_t read_size_ = 0; // capacity the next read asks for (grows while reads fill it)
    bool in_message_ = false;
    std::size_t msg_size_ = 0;
    bool reading_ = false;         // a read is pending
    bool release_requested_ = false; // the pending read was cancelled to shrink the buffer
    std::size_t largest_read_ = 0;   // since the last keepalive check

    // Strand only, state.
    std::uint64_t timer_gen_ = 0;
    enum class timer_phase { none, handshake, keepalive, closing } phase_ = timer_phase::none;
    bool handshake_timed_out_ = false;
    std::chrono::steady_clock::time_point last_rx_{};
    std::chrono::steady_clock::time_point last_ping_{};
    bool ping_outstanding_ = false;
    bool closed_ = false;        // finish() ran
    bool socket_closed_ = false; // hard_close() ran
    bool started_ = false;       // writes enabled (the WebSocket is open)
};

/// How an Asio error from an open link is reported upward.
std::error_code link_error(const boost::system::error_code& ec);

} // namespace mailroom::ws::detail
