#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/frame_parser.hpp>
#include <mailroom/tcp/detail/socket.hpp>
#include <mailroom/tcp/options.hpp>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

namespace mailroom::tcp::detail {

/** Bytes queued for one write: appended with memcpy, grown geometrically, never zero-filled
    (a `std::vector<char>` value-initialises on resize and inserts through a generic path).
*/
class write_buffer {
public:
    void append(std::span<const char> bytes)
    {
        if (cap_ - size_ < bytes.size())
            grow(size_ + bytes.size());
        std::memcpy(data_.get() + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
    }
    void clear() noexcept { size_ = 0; }
    /// Frees the capacity (the buffer must not be in use by a write).
    void release() noexcept
    {
        data_.reset();
        cap_ = size_ = 0;
    }
    void swap(write_buffer& other) noexcept
    {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(cap_, other.cap_);
    }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return cap_; }
    const char* data() const noexcept { return data_.get(); }

private:
    void grow(std::size_t need)
    {
        const std::size_t cap = std::max({need, cap_ * 2, std::size_t{512}});
        auto fresh = std::make_unique_for_overwrite<char[]>(cap);
        if (size_ > 0)
            std::memcpy(fresh.get(), data_.get(), size_);
        data_ = std::move(fresh);
        cap_ = cap;
    }

    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t cap_ = 0;
};

/** A length-prefixed message stream over one TCP socket (`basic_plain_socket`), or a TLS
    stream over one (`basic_tls_socket`): the I/O shared by the mail box and the server
    connection. Templated rather than virtual so that the plain path pays nothing for TLS and
    the strand's type is known; instantiated in framed_stream.cpp.

    Everything but `send_frame` and `close_stream` runs on the socket's strand.

    Writes coalesce: frames sent while a write is in flight are appended to one buffer that
    leaves in the next write, so a burst of N calls costs one syscall, with no flush timer.
    Frames sent on the strand while a read's frames are delivered (a server's replies,
    pongs, whatever `deliver` sends inline) are held until every frame of that read was
    delivered, then leave in one write started right there, without a post; frames sent from
    elsewhere (another thread, a posted completion) post the write. A plain
    socket is non-blocking and each write is first tried synchronously on the strand: when
    the kernel takes it all (the usual case) no Asio operation, completion post or strand
    dispatch follows; the rest, if any, goes through `async_write`.

    Memory: the read buffer is the frame parser's adaptive one (`stream_options::
    initial_read_size` up to `read_size`, more only for a frame that needs it); the write
    buffers give back capacity above 64 KiB once writes are four times smaller. On each
    keepalive tick a link whose reads all fit in the initial size since the previous tick
    frees its write buffers and (plain TCP) restarts its read with the initial buffer.

    Pings and pongs are answered and consumed here; everything else goes to `deliver`.
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

    framed_stream(socket_type socket, stream_options options, std::size_t max_frame_size)
        requires(!tls);
    /// Wraps `socket` in TLS with `ctx` (a TLS stream only).
    framed_stream(tcp_socket_type socket, asio::ssl::context& ctx,
                  stream_options options, std::size_t max_frame_size)
        requires(tls);
    virtual ~framed_stream() = default;

    /// Thread-safe; discarded once the stream is closing.
    void send_frame(frame f);

    /** Thread-safe, idempotent: closes on the strand; `closed(ec, true)` follows. With
        `flush`, frames already queued are written first (a refusal the peer must read).
    */
    void close_stream(bool flush);

    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }

    /// On the strand: bytes held by the read buffer (for tests and memory accounting).
    std::size_t read_capacity() const noexcept { return parser_.capacity(); }

    /// On the strand: bytes held by the two write buffers (for tests and memory accounting).
    std::size_t write_capacity()
    {
        std::lock_guard lock(mu_);
        return out_.capacity() + inflight_.capacity();
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
    using timer_type =
        asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor_type>;
    class strand_scope;

    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void handle(std::span<const char> body);
    void do_write();
    void on_written(const boost::system::error_code& ec, std::size_t before, std::size_t n);
    void trim_written(std::size_t n) noexcept;
    void arm_timer();
    void on_tick();
    void release_idle_buffers();

    socket_type socket_;
    timer_type timer_;
    protocol::frame_parser parser_;
    const stream_options options_;

    std::mutex mu_; // guards out_, out_frames_, inflight_frames_ and writing_
    write_buffer out_;
    // A write is in flight, posted, or due when the current read's frames are delivered.
    bool writing_ = false;
    std::size_t out_frames_ = 0;      // frames in out_
    std::size_t inflight_frames_ = 0; // frames in inflight_
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> closing_{false};

    // Strand only.
    write_buffer inflight_;
    bool flush_due_ = false;          // a frame sent inside the strand scope started writing_
    bool close_when_flushed_ = false;
    bool closed_ = false;
    bool rearm_read_ = false;         // the read was cancelled to shrink its buffer
    bool inline_writes_ = false;      // the socket is non-blocking: do_write may write itself
    std::size_t largest_read_ = 0;    // since the previous keepalive tick
    clock::time_point last_rx_;
    bool ping_outstanding_ = false;
    std::uint64_t ping_nonce_ = 0;
};

} // namespace mailroom::tcp::detail
