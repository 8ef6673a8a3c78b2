#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/link/close_sequence.hpp>
#include <mailroom/link/delivery_batch.hpp>
#include <mailroom/link/handshake_guard.hpp>
#include <mailroom/link/keepalive_clock.hpp>
#include <mailroom/link/write_queue.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/frame_parser.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/tcp/options.hpp>
#include <mailroom/tcp/socket.hpp>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

namespace mailroom::tcp::detail {

/** A length-prefixed message stream over one TCP socket (`basic_plain_socket`), or a TLS
    stream over one (`basic_tls_socket`): the I/O shared by the mail box and the server
    connection. Templated rather than virtual so that the plain path pays nothing for TLS and
    the strand's type is known; instantiated in framed_stream.cpp.

    Everything but `send_frame` and `close_stream` runs on the socket's strand.

    A driver of the link core (<mailroom/link/...>): the @ref mailroom::write_queue bounds and
    coalesces the writes (frames sent while a write is in flight leave together in the next
    one, so a burst of N calls costs one syscall, with no flush timer), the
    @ref mailroom::keepalive_clock says when to ping and when to give up, the
    @ref mailroom::close_sequence orders the close, and a @ref mailroom::delivery_batch holds
    the write that frames sent on the strand while a read's frames are delivered (a server's
    replies, pongs, whatever `deliver` sends inline) would start, until every frame of that
    read was delivered; it then starts right there, without a post. Frames sent from
    elsewhere (another thread, a posted completion) post the write. A plain
    socket is non-blocking and each write is first tried synchronously on the strand: when
    the kernel takes it all (the usual case) no Asio operation, completion post or strand
    dispatch follows; the rest, if any, goes through `async_write`.

    Memory: the read buffer is the frame parser's adaptive one (`stream_options::
    initial_read_size` up to `read_size`, more only for a frame that needs it); the write
    buffers give back capacity above 64 KiB once writes are four times smaller. On each
    keepalive tick a link whose reads all fit in the initial size since the previous tick
    frees its write buffers and (plain TCP) restarts its read with the initial buffer.

    The protocol's pings and pongs (`wire_protocol::keepalive_of`) are answered and consumed
    here; everything else goes to `deliver`. A protocol without pings gets none sent.
*/
template <class Socket>
class framed_stream : public std::enable_shared_from_this<framed_stream<Socket>> {
public:
    using socket_type = Socket;
    using executor_type = typename Socket::executor_type;
    using clock = std::chrono::steady_clock;
    static constexpr bool tls = is_tls_v<Socket>;
    /// The TCP socket (the whole of `Socket`, or the layer under TLS).
    using tcp_socket_type = asio::basic_stream_socket<asio::ip::tcp, executor_type>;

    framed_stream(socket_type socket, stream_options options, std::size_t max_frame_size,
                  std::shared_ptr<const wire_protocol> protocol)
        requires(!tls);
    /// Wraps `socket` in TLS with `ctx` (a TLS stream only).
    framed_stream(tcp_socket_type socket, asio::ssl::context& ctx, stream_options options,
                  std::size_t max_frame_size, std::shared_ptr<const wire_protocol> protocol)
        requires(tls);
    virtual ~framed_stream() = default;

    /// Thread-safe; discarded once the stream is closing.
    void send_frame(frame f);

    /** Thread-safe, idempotent: closes on the strand; `closed(ec, true)` follows. With
        `flush`, frames already queued are written first (a refusal the peer must read).
    */
    void close_stream(bool flush);

    std::size_t queued() const noexcept { return queue_.queued_bytes(); }

    /// On the strand: bytes held by the read buffer (for tests and memory accounting).
    std::size_t read_capacity() const noexcept { return parser_.capacity(); }

    /// On the strand: bytes held by the two write buffers (for tests and memory accounting).
    std::size_t write_capacity()
    {
        std::lock_guard lock(mu_);
        return queue_.capacity();
    }

    /// The strand every handler of this stream runs on.
    executor_type executor() { return socket_.get_executor(); }

    /// The TCP socket under any TLS layer.
    tcp_socket_type& tcp_socket() noexcept
    {
        if constexpr (tls)
            return socket_.next_layer();
        else
            return socket_;
    }

protected:
    /// Starts reading and the keepalive timer; call on the strand once connected.
    void start();

    /** On the strand, before @ref start (a server link): enforces `limits` until
        @ref handshake_complete — a smaller frame limit, and a deadline that closes the
        stream with `error::handshake_timeout` (nothing the peer sends moves it).
    */
    void expect_handshake(const handshake_limits& limits);

    /// On the strand: the peer completed the handshake; the limits above are lifted.
    void handshake_complete();

    socket_type& socket() noexcept { return socket_; }
    bool closing() const noexcept { return close_.closing(); }
    /// On the strand: `closed` was called.
    bool finished() const noexcept { return close_.finished(); }

    /// Closes on the strand with `ec`; `local` tells whether this end asked for it.
    void shutdown(std::error_code ec, bool local);

    /// A received message other than the protocol's ping/pong, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The stream closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

    /** The peer left a keepalive ping unanswered for `keepalive_stall` (true), or answered
        at last (false), on the strand. A client's mail box tells its station.
    */
    virtual void stall_changed(bool /*stalled*/) {}

private:
    using timer_type =
        asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor_type>;
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void handle(std::span<const char> body);
    void do_write();
    void on_written(const boost::system::error_code& ec, std::size_t n);
    void arm_timer();
    /// Tells `stall_changed` if the keepalive's stall changed since it last did.
    void report_stall();
    void on_tick();
    void release_idle_buffers();

    socket_type socket_;
    executor_type strand_; // the socket's, copied once: asks whether a send runs on it
    timer_type timer_;
    protocol::frame_parser parser_;
    const std::size_t max_frame_size_;
    const stream_options options_;
    const std::shared_ptr<const wire_protocol> protocol_;

    std::mutex mu_; // guards queue_ (appended from any thread; `written` is strand-only)
    write_queue queue_;
    close_sequence close_;

    // Strand only.
    keepalive_clock keepalive_;
    bool stall_reported_ = false;
    handshake_guard handshake_;
    delivery_batch batch_;
    bool rearm_read_ = false;         // the read was cancelled to shrink its buffer
    bool inline_writes_ = false;      // the socket is non-blocking: do_write may write itself
    std::size_t largest_read_ = 0;    // since the previous keepalive tick
    std::uint64_t ping_nonce_ = 0;
};

} // namespace mailroom::tcp::detail
