#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/detail/unique_function.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace mailroom::ws::detail {

/** A stream layer under the WebSocket that batches system calls both ways, so that a burst
    of N small messages (each still its own WebSocket message, back to back) costs one write
    and one read instead of N, with no timer. The TCP transport gets the same from its
    length-prefixed framing; Beast reads at most 1,536 bytes and writes one message per call.

    Writes: each `async_write_some` copies its bytes into a buffer and completes at once
    (posted). The buffer goes to `NextLayer` in one write, at most one at a time, and only
    when nothing holds it back: not while the owner `hold`s it (it is writing a burst of
    queued messages), and not while received bytes are still being processed (the messages
    they carry usually produce answers that should leave together). It leaves as soon as
    the reader goes back to the socket for more, or the owner `release`s it. Writes Beast
    makes on its own (pongs, pings, the close frame) follow the same rule.

    Reads: from the socket in chunks of up to 64 KiB, handed to Beast from that buffer.

    Everything runs on the stream's strand. The owner keeps the layer alive while reads are
    pending and across each flush (`set_owner`), hears about a failed flush (`set_on_error`:
    the link is dead) and about each completed flush (`set_on_drained`, to resume writing
    once `backlog()` went down).
*/
template <class NextLayer>
class batching_stream {
public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class... Args>
    explicit batching_stream(Args&&... args) : next_(std::forward<Args>(args)...), in_(64u << 10)
    {
    }

    executor_type get_executor() noexcept { return next_.get_executor(); }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }

    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
    void set_on_error(std::function<void(const boost::system::error_code&)> f) { on_error_ = std::move(f); }
    void set_on_drained(std::function<void()> f) { on_drained_ = std::move(f); }

    /// When bytes last arrived from the socket (for keepalive).
    std::chrono::steady_clock::time_point last_read() const noexcept { return last_read_; }

    /// Bytes accepted and not yet written to the next layer (buffered and in flight).
    std::size_t backlog() const noexcept { return pending_.size() + inflight_.size(); }

    /// Keeps what is written from now on in the buffer.
    void hold() noexcept { held_ = true; }

    /// Lets the buffer go (once the write in flight, if any, completed).
    void release()
    {
        held_ = false;
        maybe_flush();
    }

    /** Runs `then` once everything accepted so far was written (at once if nothing is
        pending), flushing regardless of holds: the connection is about to be torn down.
    */
    void after_flush(mailroom::detail::unique_function<void()> then)
    {
        if (pending_.empty() && inflight_.empty())
            return then();
        forced_ = true;
        after_flush_ = std::move(then);
        maybe_flush();
    }

    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler)
    {
        return asio::async_initiate<ReadHandler, void(boost::system::error_code, std::size_t)>(
            [this](auto h, const MutableBufferSequence& b) {
                if (in_begin_ != in_end_ || asio::buffer_size(b) == 0) {
                    const auto n = take(b);
                    auto ex = asio::get_associated_executor(h, get_executor());
                    asio::post(ex, boost::beast::bind_front_handler(std::move(h),
                                                                    boost::system::error_code{}, n));
                    return;
                }
                // Everything received so far was handled: what it produced leaves now.
                input_pending_ = false;
                maybe_flush();
                in_begin_ = in_end_ = 0;
                next_.async_read_some(asio::buffer(in_),
                                      read_op<std::decay_t<decltype(h)>, MutableBufferSequence>{
                                          this, std::move(h), b});
            },
            handler, buffers);
    }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler)
    {
        return asio::async_initiate<WriteHandler, void(boost::system::error_code, std::size_t)>(
            [this](auto h, const ConstBufferSequence& b) {
                boost::system::error_code ec = failed_;
                std::size_t n = 0;
                if (!ec) {
                    for (auto it = asio::buffer_sequence_begin(b); it != asio::buffer_sequence_end(b); ++it) {
                        asio::const_buffer piece(*it);
                        const char* p = static_cast<const char*>(piece.data());
                        pending_.insert(pending_.end(), p, p + piece.size());
                        n += piece.size();
                    }
                    maybe_flush();
                }
                auto ex = asio::get_associated_executor(h, get_executor());
                asio::post(ex, boost::beast::bind_front_handler(std::move(h), ec, n));
            },
            handler, buffers);
    }

private:
    /// Completes a read from the socket: keeps the bytes, hands Beast what fits.
    template <class Handler, class Buffers>
    struct read_op {
        batching_stream* self;
        Handler handler;
        Buffers buffers;

        using executor_type = asio::associated_executor_t<Handler, typename NextLayer::executor_type>;
        executor_type get_executor() const noexcept
        {
            return asio::get_associated_executor(handler, self->next_.get_executor());
        }

        void operator()(const boost::system::error_code& ec, std::size_t n)
        {
            self->in_end_ = n;
            self->input_pending_ = !ec;
            if (!ec)
                self->last_read_ = std::chrono::steady_clock::now();
            const auto taken = ec ? 0 : self->take(buffers);
            std::move(handler)(ec, taken);
        }
    };

    template <class MutableBufferSequence>
    std::size_t take(const MutableBufferSequence& b)
    {
        const auto n = asio::buffer_copy(b, asio::buffer(in_.data() + in_begin_, in_end_ - in_begin_));
        in_begin_ += n;
        return n;
    }

    void maybe_flush()
    {
        if (((held_ || input_pending_) && !forced_) || !inflight_.empty() || pending_.empty())
            return;
        auto owner = owner_.lock();
        if (!owner)
            return; // the link is going away; its socket closes with it
        inflight_.swap(pending_);
        asio::async_write(next_, asio::buffer(inflight_),
                          [this, owner](const boost::system::error_code& ec, std::size_t) {
                              inflight_.clear();
                              if (ec) {
                                  failed_ = ec;
                                  pending_.clear();
                                  if (auto then = std::move(after_flush_))
                                      then();
                                  if (on_error_)
                                      on_error_(ec);
                                  return;
                              }
                              maybe_flush();
                              if (after_flush_ && pending_.empty() && inflight_.empty()) {
                                  auto then = std::move(after_flush_);
                                  then();
                              }
                              if (on_drained_)
                                  on_drained_();
                          });
    }

    NextLayer next_;
    std::vector<char> in_; // bytes read from the socket, [in_begin_, in_end_) not taken yet
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    bool input_pending_ = false;
    std::chrono::steady_clock::time_point last_read_ = std::chrono::steady_clock::now();
    std::vector<char> pending_;
    std::vector<char> inflight_;
    bool held_ = false;
    bool forced_ = false; // tearing down: flush whatever holds
    mailroom::detail::unique_function<void()> after_flush_;
    boost::system::error_code failed_;
    std::weak_ptr<void> owner_;
    std::function<void(const boost::system::error_code&)> on_error_;
    std::function<void()> on_drained_;
};

// How boost::beast::websocket::stream closes the connection under it: through the layer.

// The synchronous one is never used by the transport (it would drop unflushed bytes).
template <class NextLayer>
void teardown(boost::beast::role_type role, batching_stream<NextLayer>& s,
              boost::system::error_code& ec)
{
    using boost::beast::websocket::teardown;
    teardown(role, s.next_layer(), ec);
}

// Flushes first: the close frame answering the peer's may still be in the buffer.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, batching_stream<NextLayer>& s,
                    TeardownHandler&& handler)
{
    s.after_flush([role, &s, h = std::forward<TeardownHandler>(handler)]() mutable {
        using boost::beast::websocket::async_teardown;
        async_teardown(role, s.next_layer(), std::move(h));
    });
}

} // namespace mailroom::ws::detail
