#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/error.hpp>

#include <algorithm>
#include <cstring>
#include <random>

namespace mailroom::ws::detail {

namespace websocket = boost::beast::websocket;

std::error_code link_error(const boost::system::error_code& ec)
{
    return mailroom::detail::to_std_error(ec);
}

namespace {

// RFC 6455 opcodes and the close codes this end sends.
constexpr std::uint8_t op_continuation = 0x0;
constexpr std::uint8_t op_text = 0x1;
constexpr std::uint8_t op_binary = 0x2;
constexpr std::uint8_t op_close = 0x8;
constexpr std::uint8_t op_ping = 0x9;
constexpr std::uint8_t op_pong = 0xa;
constexpr std::uint16_t close_normal = 1000;
constexpr std::uint16_t close_protocol_error = 1002;
constexpr std::uint16_t close_unknown_data = 1003;
constexpr std::uint16_t close_too_big = 1009;

/// Longest WebSocket frame header: 2 bytes, a 64-bit length, a mask key.
constexpr std::size_t max_header = 14;
/// What a link's read buffer starts at, and goes back to when the link is idle.
constexpr std::size_t initial_read = 4u << 10;
/// How far the read buffer grows on its own while reads fill it (a message may need more).
constexpr std::size_t max_auto_read = 64u << 10;
/// Write buffers above this are given back when the link is idle.
constexpr std::size_t idle_write_capacity = 4u << 10;

std::error_code violation(websocket::error e)
{
    return mailroom::detail::to_std_error(websocket::make_error_code(e));
}

std::uint16_t load16(const char* p) noexcept
{
    auto b = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

std::uint32_t load32(const char* p) noexcept
{
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) |
           std::uint32_t(b[3]);
}

std::uint64_t load64(const char* p) noexcept
{
    return (std::uint64_t(load32(p)) << 32) | load32(p + 4);
}

/// Writes a final frame's header for `len` payload bytes; a client's carries `mask`.
std::size_t write_header(char* out, std::uint8_t opcode, std::uint64_t len, const std::uint32_t* mask)
{
    out[0] = static_cast<char>(0x80 | opcode);
    const unsigned char m = mask ? 0x80 : 0x00;
    std::size_t n;
    if (len < 126) {
        out[1] = static_cast<char>(m | len);
        n = 2;
    } else if (len <= 0xffff) {
        out[1] = static_cast<char>(m | 126);
        out[2] = static_cast<char>(len >> 8);
        out[3] = static_cast<char>(len);
        n = 4;
    } else {
        out[1] = static_cast<char>(m | 127);
        for (int i = 0; i < 8; ++i)
            out[2 + i] = static_cast<char>(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        std::memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

/// XORs `p` with the mask key (its 4 bytes in wire order), 8 bytes at a time.
void apply_mask(char* p, std::size_t n, std::uint32_t key) noexcept
{
    unsigned char k[8];
    std::memcpy(k, &key, 4);
    std::memcpy(k + 4, &key, 4);
    std::uint64_t m;
    std::memcpy(&m, k, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        v ^= m;
        std::memcpy(p + i, &v, 8);
    }
    for (; i < n; ++i)
        p[i] = static_cast<char>(p[i] ^ k[i & 3]);
}

/// The link whose read is being delivered on this thread: frames it sends meanwhile wait
/// for the end of the read and leave in one write, without a post.
thread_local const void* current_scope = nullptr;

class delivery_scope {
public:
    explicit delivery_scope(const void* link) noexcept : saved_(std::exchange(current_scope, link)) {}
    ~delivery_scope() { current_scope = saved_; }
    delivery_scope(const delivery_scope&) = delete;
    delivery_scope& operator=(const delivery_scope&) = delete;

private:
    const void* saved_;
};

/// The close codes a peer may send (RFC 6455, section 7.4).
bool valid_close_code(std::uint16_t c) noexcept
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

} // namespace

// ---------------------------------------------------------------------------------------
// Sending.

template <class Stream>
void ws_link<Stream>::seed_masks()
{
    // Mask keys need not be secret between servers; they must only vary (RFC 6455, 10.3).
    std::random_device rd;
    mask_state_ = (std::uint64_t(rd()) << 32) ^ rd() ^ reinterpret_cast<std::uintptr_t>(this);
    if (mask_state_ == 0)
        mask_state_ = 0x9e3779b97f4a7c15ull;
}

template <class Stream>
std::uint32_t ws_link<Stream>::next_mask() noexcept
{
    // xorshift64*
    auto& x = mask_state_;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return static_cast<std::uint32_t>((x * 0x2545f4914f6cdd1dull) >> 32);
}

template <class Stream>
void ws_link<Stream>::send_frame(frame f)
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
            out_.insert(out_.end(), wire.begin(), wire.end());
            ++out_frames_;
            queued_.fetch_add(wire.size(), std::memory_order_relaxed);
            start_write = open_ && !writing_;
            writing_ = writing_ || start_write;
        }
    }
    if (overflow) {
        // The peer stopped reading: closing fails the calls on this link with
        // `disconnected` instead of growing without bound.
        closing_ = true;
        asio::post(executor(), [self = this->shared_from_this()] {
            self->finish(error::queue_full, false);
            self->hard_close();
        });
    } else if (start_write) {
        if (current_scope == this)
            flush_due_ = true; // on the strand, inside a read: written once it is delivered
        else
            asio::post(executor(), [self = this->shared_from_this()] { self->do_write(); });
    }
}

template <class Stream>
void ws_link<Stream>::close_link(bool flush)
{
    closing_ = true;
    asio::post(executor(), [self = this->shared_from_this(), flush] {
        if (self->closed_)
            return;
        self->finish(std::make_error_code(std::errc::operation_canceled), true);
        self->begin_close(close_normal, flush);
    });
}

template <class Stream>
void ws_link<Stream>::kick_write()
{
    bool start = false;
    {
        std::lock_guard lock(mu_);
        start = open_ && !writing_;
        writing_ = writing_ || start;
    }
    if (start) {
        if (current_scope == this)
            flush_due_ = true;
        else
            do_write();
    }
}

template <class Stream>
void ws_link<Stream>::queue_control(std::uint8_t opcode, std::span<const char> payload)
{
    if (close_pending_ || !started_ || socket_closed_)
        return;
    if (opcode == op_pong && control_.size() > (4u << 10))
        return; // a peer flooding pings while we cannot write: its latest pings go unanswered
    const bool mask = role_ == ws_role::client;
    const std::uint32_t key = mask ? next_mask() : 0;
    const auto at = control_.size();
    control_.resize(at + max_header + payload.size());
    const auto h = write_header(control_.data() + at, opcode, payload.size(), mask ? &key : nullptr);
    if (!payload.empty())
        std::memcpy(control_.data() + at + h, payload.data(), payload.size());
    if (mask)
        apply_mask(control_.data() + at + h, payload.size(), key);
    control_.resize(at + h + payload.size());
    kick_write();
}

template <class Stream>
void ws_link<Stream>::begin_close(std::uint16_t code, bool flush)
{
    if (close_pending_ || socket_closed_)
        return;
    close_pending_ = true;
    if (!started_)
        return hard_close(); // nothing to say to a peer that never completed the upgrade
    close_flush_ = flush;
    const bool mask = role_ == ws_role::client;
    const std::uint32_t key = mask ? next_mask() : 0;
    close_frame_.resize(max_header + 2);
    const auto h = write_header(close_frame_.data(), op_close, 2, mask ? &key : nullptr);
    close_frame_[h] = static_cast<char>(code >> 8);
    close_frame_[h + 1] = static_cast<char>(code);
    if (mask)
        apply_mask(close_frame_.data() + h, 2, key);
    close_frame_.resize(h + 2);
    // The peer's close frame, or this timer, ends the link. Read for it even if the link
    // was closed before it started reading (inside a read, the reader reads on itself).
    phase_ = timer_phase::closing;
    arm_timer(options_.handshake_timeout);
    kick_write();
    if (current_scope != this)
        do_read();
}

template <class Stream>
void ws_link<Stream>::add_message(const char* payload, std::size_t n)
{
    messages_.emplace_back(static_cast<std::size_t>(payload - inflight_.data()), n);
}

template <class Stream>
void ws_link<Stream>::do_write()
{
    for (bool first = true;; first = false) {
        bool take_data = false;
        bool with_close = false;
        {
            std::lock_guard lock(mu_);
            const bool drop = socket_closed_ || close_in_write_ || close_written_ ||
                              (close_pending_ && !close_flush_);
            if (drop && !out_.empty()) {
                queued_.fetch_sub(out_.size(), std::memory_order_relaxed);
                out_.clear();
                out_frames_ = 0;
            }
            if (!out_.empty()) {
                inflight_.swap(out_);
                out_.clear();
                inflight_frames_ = std::exchange(out_frames_, 0);
                take_data = true;
            } else {
                inflight_frames_ = 0;
            }
            with_close = close_pending_ && !close_in_write_ && !close_written_ && !socket_closed_;
            if (socket_closed_ || (!take_data && !with_close && control_.empty())) {
                writing_ = false;
                return;
            }
        }

        buffers_.clear();
        if (!control_.empty()) {
            control_inflight_.swap(control_);
            control_.clear();
            buffers_.emplace_back(control_inflight_.data(), control_inflight_.size());
        }
        inflight_bytes_ = 0;
        if (take_data) {
            inflight_bytes_ = inflight_.size();
            messages_.clear();
            const char* base = inflight_.data();
            const std::size_t total = inflight_.size();
            if (batch_) {
                // One message, unless the frames add up to more than batch_message_max: then
                // as many as it takes, split between frames (a larger frame travels alone).
                if (total <= batch_message_max) {
                    add_message(base, total);
                } else {
                    std::size_t start = 0, off = 0;
                    while (off < total) {
                        const std::size_t size = 4 + std::size_t(load32(base + off));
                        if (off > start && off + size - start > batch_message_max) {
                            add_message(base + start, off - start);
                            start = off;
                        }
                        off += size;
                    }
                    add_message(base + start, off - start);
                }
            } else {
                // One body per message, for a peer that did not ask for batches.
                for (std::size_t off = 0; off < total;) {
                    const std::size_t len = load32(base + off);
                    add_message(base + off + 4, len);
                    off += 4 + len;
                }
            }
            headers_.resize(messages_.size() * max_header);
            const bool mask = role_ == ws_role::client;
            for (std::size_t i = 0; i < messages_.size(); ++i) {
                const auto [off, len] = messages_[i];
                const std::uint32_t key = mask ? next_mask() : 0;
                char* h = headers_.data() + i * max_header;
                const auto hn = write_header(h, op_binary, len, mask ? &key : nullptr);
                if (mask)
                    apply_mask(inflight_.data() + off, len, key);
                buffers_.emplace_back(h, hn);
                buffers_.emplace_back(inflight_.data() + off, len);
            }
        }
        if (with_close) {
            buffers_.emplace_back(close_frame_.data(), close_frame_.size());
            close_in_write_ = true;
        }

        std::span<const asio::const_buffer> rest(buffers_);
        if constexpr (tls) {
            // TLS writes one buffer per record: put the pieces together first.
            if (buffers_.size() > 1) {
                tls_out_.resize(asio::buffer_size(buffers_));
                asio::buffer_copy(asio::buffer(tls_out_), buffers_);
                buffers_.assign(1, asio::const_buffer(tls_out_.data(), tls_out_.size()));
                rest = buffers_;
            }
        } else if (first && inline_writes_) {
            // Try the write right here: the socket usually takes it all, and then no
            // operation, completion post or strand dispatch is needed. Once per call, so
            // that senders on other threads cannot keep this strand writing forever.
            boost::system::error_code ec;
            std::size_t done = stream_.write_some(rest, ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                done = 0;
            } else if (ec) {
                if (!closed_)
                    finish(link_error(ec), false);
                return hard_close();
            }
            if (done == asio::buffer_size(rest)) {
                if (!written())
                    return;
                continue;
            }
            // What the kernel did not take goes through async_write.
            std::size_t skip = 0;
            while (done >= buffers_[skip].size()) {
                done -= buffers_[skip].size();
                ++skip;
            }
            buffers_[skip] += done;
            rest = std::span<const asio::const_buffer>(buffers_).subspan(skip);
        }
        write_inflight_ = true;
        asio::async_write(stream_, rest,
                          [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t) { self->on_written(ec); });
        return;
    }
}

template <class Stream>
bool ws_link<Stream>::written()
{
    queued_.fetch_sub(inflight_bytes_, std::memory_order_relaxed);
    inflight_bytes_ = 0;
    if (close_in_write_) {
        close_in_write_ = false;
        close_written_ = true;
        if (close_received_) {
            hard_close(); // both close frames crossed: done
            return false;
        }
    }
    return true;
}

template <class Stream>
void ws_link<Stream>::on_written(const boost::system::error_code& ec)
{
    write_inflight_ = false;
    if (ec) {
        queued_.fetch_sub(inflight_bytes_, std::memory_order_relaxed);
        inflight_bytes_ = 0;
        if (!closed_)
            finish(link_error(ec), false);
        return hard_close();
    }
    if (written())
        do_write();
}

// ---------------------------------------------------------------------------------------
// Receiving.

template <class Stream>
void ws_link<Stream>::reserve_read(std::size_t total)
{
    // Room for `total` bytes from rbeg_: slide the unread bytes down, or move to a larger
    // buffer.
    if (rbeg_ + total <= rcap_)
        return;
    const std::size_t present = rend_ - rbeg_;
    if (total <= rcap_) {
        if (present)
            std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, present);
    } else {
        auto bigger = std::make_unique_for_overwrite<char[]>(total);
        if (present)
            std::memcpy(bigger.get(), rbuf_.get() + rbeg_, present);
        rbuf_ = std::move(bigger);
        rcap_ = total;
    }
    scan_ -= rbeg_;
    rend_ -= rbeg_;
    rbeg_ = 0;
}

template <class Stream>
void ws_link<Stream>::release_read_buffer()
{
    rbuf_.reset();
    rcap_ = rbeg_ = rend_ = scan_ = 0;
}

template <class Stream>
void ws_link<Stream>::do_read()
{
    if (socket_closed_ || reading_)
        return;
    if (read_size_ == 0)
        read_size_ = initial_read;
    // Room for the frame being read, at least read_size_, and never none (after a refused
    // message the unread rest may fill the buffer).
    reserve_read(std::max({need_, read_size_, rend_ - rbeg_ + 1024}));
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(rbuf_.get() + rend_, rcap_ - rend_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
}

template <class Stream>
void ws_link<Stream>::on_read(const boost::system::error_code& ec, std::size_t n)
{
    reading_ = false;
    const bool release = std::exchange(release_requested_, false);
    if (ec) {
        if (ec == asio::error::operation_aborted && release && !socket_closed_) {
            // The keepalive check found the link idle: read on into a small buffer.
            if (rbeg_ == rend_ && !in_message_)
                release_read_buffer();
            read_size_ = initial_read;
            return do_read();
        }
        if (!closed_)
            finish(link_error(ec), false);
        return hard_close();
    }
    last_rx_ = std::chrono::steady_clock::now();
    largest_read_ = std::max(largest_read_, n);
    if (n == rcap_ - rend_ && read_size_ < max_auto_read)
        read_size_ = std::min(read_size_ * 2, max_auto_read); // reads fill it: the link is busy
    rend_ += n;
    {
        delivery_scope scope(this); // what the handlers send leaves together at its end
        process();
    }
    if (std::exchange(flush_due_, false))
        do_write();
    if (reading_ || socket_closed_)
        return;
    if (rbeg_ == rend_ && !in_message_) {
        rbeg_ = rend_ = scan_ = 0;
        if (rcap_ > max_auto_read)
            release_read_buffer(); // one huge message must not pin its buffer
    }
    do_read();
}

template <class Stream>
void ws_link<Stream>::fail(std::error_code ec, std::uint16_t close_code)
{
    if (!closed_)
        finish(ec, false);
    if (close_pending_)
        return hard_close(); // already closing: the peer gets no second close frame
    begin_close(close_code, false);
}

template <class Stream>
void ws_link<Stream>::process()
{
    need_ = 0;
    const std::size_t message_max =
        batch_ ? std::max(batch_message_max, max_frame_size_ + 4) : max_frame_size_;
    while (!socket_closed_) {
        const std::size_t avail = rend_ - scan_;
        if (avail < 2) {
            need_ = scan_ - rbeg_ + max_header;
            return;
        }
        const char* p = rbuf_.get() + scan_;
        const auto b0 = static_cast<unsigned char>(p[0]);
        const auto b1 = static_cast<unsigned char>(p[1]);
        const bool fin = b0 & 0x80;
        const std::uint8_t opcode = b0 & 0x0f;
        const bool masked = b1 & 0x80;
        const bool control = opcode & 0x08;
        std::uint64_t len = b1 & 0x7f;

        // Everything the first two bytes can say wrong, before waiting for more.
        if (b0 & 0x70)
            return fail(violation(websocket::error::bad_reserved_bits), close_protocol_error);
        if (control) {
            if (opcode > op_pong)
                return fail(violation(websocket::error::bad_opcode), close_protocol_error);
            if (!fin)
                return fail(violation(websocket::error::bad_control_fragment), close_protocol_error);
            if (len > 125)
                return fail(violation(websocket::error::bad_control_size), close_protocol_error);
        } else {
            if (opcode > op_binary)
                return fail(violation(websocket::error::bad_opcode), close_protocol_error);
            if (opcode == op_continuation && !in_message_)
                return fail(violation(websocket::error::bad_continuation), close_protocol_error);
            if (opcode != op_continuation && in_message_)
                return fail(violation(websocket::error::bad_data_frame), close_protocol_error);
        }
        if (role_ == ws_role::server && !masked)
            return fail(violation(websocket::error::bad_unmasked_frame), close_protocol_error);
        if (role_ == ws_role::client && masked)
            return fail(violation(websocket::error::bad_masked_frame), close_protocol_error);
        if (!control && opcode == op_text)
            return fail(ws_error::text_message, close_unknown_data);

        const std::size_t header =
            2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (avail < header) {
            need_ = scan_ - rbeg_ + header;
            return;
        }
        if (len == 126) {
            len = load16(p + 2);
            if (len < 126)
                return fail(violation(websocket::error::bad_size), close_protocol_error);
        } else if (len == 127) {
            len = load64(p + 2);
            if (len < 0x10000 || (len >> 63))
                return fail(violation(websocket::error::bad_size), close_protocol_error);
        }
        // A message above the limit is refused from its header, before its payload arrives.
        if (!control && msg_size_ + len > message_max)
            return fail(error::frame_too_large, close_too_big);
        if (avail - header < len) {
            need_ = scan_ - rbeg_ + header + static_cast<std::size_t>(len);
            return;
        }

        char* payload = rbuf_.get() + scan_ + header;
        const auto n = static_cast<std::size_t>(len);
        if (masked) {
            std::uint32_t key;
            std::memcpy(&key, p + header - 4, 4);
            apply_mask(payload, n, key);
        }
        scan_ += header + n;
        if (control) {
            if (!in_message_)
                rbeg_ = scan_;
            if (!on_control(opcode, payload, n))
                return;
        } else if (!in_message_ && fin) {
            rbeg_ = scan_; // the payload stays valid until the next read
            if (!on_message(payload, n))
                return;
        } else {
            // A fragment: payloads are gathered at rbeg_, over the headers between them.
            if (!in_message_) {
                in_message_ = true;
                msg_size_ = 0;
            }
            std::memmove(rbuf_.get() + rbeg_ + msg_size_, payload, n);
            msg_size_ += n;
            if (fin) {
                char* message = rbuf_.get() + rbeg_;
                const auto size = std::exchange(msg_size_, 0);
                in_message_ = false;
                rbeg_ = scan_;
                if (!on_message(message, size))
                    return;
            }
        }
    }
}

template <class Stream>
bool ws_link<Stream>::on_message(char* payload, std::size_t n)
{
    if (closed_ || closing())
        return true; // closing: read on for the peer's close frame, deliver nothing
    if (!batch_) {
        deliver({payload, n});
        return !socket_closed_;
    }
    // A batch holds whole frames only; a message that breaks the rule is refused whole.
    for (std::size_t off = 0; off < n;) {
        if (n - off < 4)
            return fail(ws_error::truncated_frame, close_protocol_error), false;
        const std::size_t len = load32(payload + off);
        if (len > max_frame_size_)
            return fail(error::frame_too_large, close_too_big), false;
        if (n - off - 4 < len)
            return fail(ws_error::truncated_frame, close_protocol_error), false;
        off += 4 + len;
    }
    for (std::size_t off = 0; off < n && !closing();) {
        const std::size_t len = load32(payload + off);
        deliver({payload + off + 4, len});
        off += 4 + len;
    }
    return !socket_closed_;
}

template <class Stream>
bool ws_link<Stream>::on_control(std::uint8_t opcode, char* payload, std::size_t n)
{
    if (opcode == op_ping) {
        queue_control(op_pong, {payload, n});
        return true;
    }
    if (opcode == op_pong)
        return true; // liveness is any bytes received
    // A close frame.
    std::uint16_t code = close_normal;
    if (n == 1)
        return fail(violation(websocket::error::bad_close_size), close_protocol_error), false;
    if (n >= 2) {
        code = load16(payload);
        if (!valid_close_code(code))
            return fail(violation(websocket::error::bad_close_code), close_protocol_error), false;
    }
    close_received_ = true;
    if (!close_pending_) {
        // The peer closes: answer with its code; the link is done once the answer is out.
        if (!closed_)
            finish(link_error(websocket::error::closed), false);
        begin_close(code, false);
    } else if (close_written_) {
        hard_close(); // the answer to our close frame
    }
    return false;
}

// ---------------------------------------------------------------------------------------
// Opening, closing, timers.

template <class Stream>
void ws_link<Stream>::arm_handshake_deadline()
{
    phase_ = timer_phase::handshake;
    arm_timer(options_.handshake_timeout);
}

template <class Stream>
void ws_link<Stream>::enable_writes(bool batch, std::span<const char> early)
{
    if (started_)
        return;
    started_ = true;
    batch_ = batch;
    if (phase_ == timer_phase::handshake) {
        phase_ = timer_phase::none;
        ++timer_gen_;
        timer_.cancel();
    }
    if (!early.empty()) {
        read_size_ = std::max(initial_read, early.size());
        reserve_read(read_size_);
        std::memcpy(rbuf_.get() + rend_, early.data(), early.size());
        rend_ += early.size();
    }
    if constexpr (!tls) {
        // For do_write's synchronous attempt: it must fail with would_block, never wait.
        boost::system::error_code ec;
        stream_.non_blocking(true, ec);
        inline_writes_ = !ec;
    }
    {
        std::lock_guard lock(mu_);
        open_ = true;
    }
    kick_write();
}

template <class Stream>
void ws_link<Stream>::start()
{
    last_rx_ = std::chrono::steady_clock::now();
    if (socket_closed_)
        return;
    if (!closed_) {
        phase_ = timer_phase::keepalive;
        const auto interval = options_.keepalive_interval, timeout = options_.keepalive_timeout;
        if (interval.count() > 0 || timeout.count() > 0) {
            auto period = interval.count() > 0 ? interval : timeout / 2;
            if (timeout.count() > 0)
                period = std::min(period, timeout);
            arm_timer(std::max(period, std::chrono::milliseconds(1)));
        }
    }
    if (rend_ > rbeg_) {
        delivery_scope scope(this); // bytes that arrived with the handshake
        process();
    }
    if (std::exchange(flush_due_, false))
        do_write();
    do_read();
}

template <class Stream>
void ws_link<Stream>::arm_timer(std::chrono::milliseconds after)
{
    const auto gen = ++timer_gen_;
    timer_.expires_after(after);
    timer_.async_wait([self = this->shared_from_this(), gen](const boost::system::error_code& ec) {
        if (!ec && gen == self->timer_gen_)
            self->on_timer();
    });
}

template <class Stream>
void ws_link<Stream>::on_timer()
{
    switch (phase_) {
    case timer_phase::handshake:
        handshake_timed_out_ = true;
        return hard_close();
    case timer_phase::keepalive:
        return on_keepalive_tick();
    case timer_phase::closing:
        return hard_close(); // the peer never answered the close frame
    case timer_phase::none:
        return;
    }
}

template <class Stream>
void ws_link<Stream>::on_keepalive_tick()
{
    if (closed_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (last_rx_ > last_ping_)
        ping_outstanding_ = false;
    const auto silent = now - last_rx_;
    if (options_.keepalive_timeout.count() > 0 && silent >= options_.keepalive_timeout) {
        finish(error::keepalive_timeout, false);
        return hard_close();
    }
    if (options_.keepalive_interval.count() > 0 && silent >= options_.keepalive_interval &&
        !ping_outstanding_) {
        ping_outstanding_ = true;
        last_ping_ = now;
        queue_control(op_ping, {});
    }
    release_idle_buffers();
    const auto interval = options_.keepalive_interval, timeout = options_.keepalive_timeout;
    auto period = interval.count() > 0 ? interval : timeout / 2;
    if (timeout.count() > 0)
        period = std::min(period, timeout);
    arm_timer(std::max(period, std::chrono::milliseconds(1)));
}

template <class Stream>
void ws_link<Stream>::release_idle_buffers()
{
    // Quiet since the previous check (every read fitted in the initial buffer): buffers
    // grown by an earlier burst go back. A busy link keeps them.
    if (std::exchange(largest_read_, 0) > initial_read || closing())
        return;
    if (!write_inflight_) {
        if (inflight_.capacity() > idle_write_capacity)
            std::vector<char>().swap(inflight_);
        if (headers_.capacity() > 16 * max_header) {
            std::vector<char>().swap(headers_);
            std::vector<std::pair<std::size_t, std::size_t>>().swap(messages_);
            std::vector<asio::const_buffer>().swap(buffers_);
        }
        if constexpr (tls) {
            if (tls_out_.capacity() > idle_write_capacity)
                std::vector<char>().swap(tls_out_);
        }
        std::lock_guard lock(mu_);
        if (out_.empty() && out_.capacity() > idle_write_capacity)
            std::vector<char>().swap(out_);
    }
    // The pending read holds the read buffer: cancel it and read on into a small one. Only
    // a plain socket: a TLS stream's state does not survive a cancelled read.
    if constexpr (!tls) {
        if (reading_ && !release_requested_ && rbeg_ == rend_ && !in_message_ &&
            rcap_ > initial_read && !write_inflight_) {
            release_requested_ = true;
            boost::system::error_code ignored;
            lowest_layer().cancel(ignored);
        }
    }
}

template <class Stream>
void ws_link<Stream>::finish(std::error_code ec, bool local)
{
    if (closed_)
        return;
    closed_ = true;
    closing_ = true;
    if (phase_ == timer_phase::keepalive) {
        phase_ = timer_phase::none;
        ++timer_gen_;
        timer_.cancel();
    }
    closed(ec, local);
}

template <class Stream>
void ws_link<Stream>::hard_close()
{
    if (socket_closed_)
        return;
    socket_closed_ = true;
    closing_ = true;
    phase_ = timer_phase::none;
    ++timer_gen_;
    timer_.cancel();
    boost::system::error_code ignored;
    lowest_layer().close(ignored);
}

template class ws_link<basic_plain_stream<io_strand>>;
template class ws_link<basic_tls_stream<io_strand>>;
template class ws_link<basic_plain_stream<any_strand>>;
template class ws_link<basic_tls_stream<any_strand>>;

} // namespace mailroom::ws::detail
