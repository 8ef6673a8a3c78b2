#pragma once

#include "message_guard.hpp"

#include <mailroom/detail/config.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

namespace mailroom::ws::detail {

/** The layer under Beast's `websocket::stream`: forwards every operation to `Next`
    (`beast::tcp_stream`, or TLS over it) and sees the bytes the peer sends, to note when the
    link last received anything (keepalive: liveness is any bytes received, pings and partial
    messages included) and, on a server, to feed a @ref message_guard. Strand only.
*/
template <class Next>
class guarded_stream {
public:
    using next_layer_type = Next;
    using executor_type = typename Next::executor_type;
    using clock = std::chrono::steady_clock;

    template <class... Args>
    explicit guarded_stream(Args&&... args) : next_(std::forward<Args>(args)...)
    {
    }

    executor_type get_executor() noexcept { return next_.get_executor(); }
    Next& next_layer() noexcept { return next_; }
    const Next& next_layer() const noexcept { return next_; }

    /// When the last bytes arrived (or the construction, or @ref touch).
    clock::time_point last_read() const noexcept { return last_read_; }
    void touch() noexcept { last_read_ = clock::now(); }

    /** Turns the guard on from now (the bytes from now on are WebSocket frames, none read
        ahead): `on_trip(ec)` runs once, inside a read, when the guard trips.
    */
    void guard(std::size_t max_frames, std::chrono::milliseconds max_time,
               std::function<void(std::error_code)> on_trip)
    {
        guard_.emplace(max_frames, max_time);
        on_trip_ = std::move(on_trip);
    }
    /// Runs the guard's time check (from the keepalive timer).
    std::error_code check_guard() noexcept
    {
        return guard_ ? guard_->check(clock::now()) : std::error_code();
    }

    /// `f()` runs inside each read that received bytes, before Beast sees them.
    void on_bytes(std::function<void()> f) { on_bytes_ = std::move(f); }

    /** The link is about to write its close frame: from now on a read fails with
        `operation_aborted` at once and hands nothing up, and a read already running drops
        its bytes. Beast's read then ends, and no Beast operation runs beside the close
        frame's write (ws_link::send_close).
    */
    void stop_reading() noexcept { stopped_ = true; }

    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler)
    {
        auto ex = asio::get_associated_executor(handler, next_.get_executor());
        if (stopped_) {
            asio::post(ex, [h = std::forward<Handler>(handler)]() mutable {
                h(asio::error::operation_aborted, 0);
            });
            return;
        }
        next_.async_read_some(
            buffers, asio::bind_executor(
                         ex, [this, buffers, h = std::forward<Handler>(handler)](
                                 const boost::system::error_code& ec, std::size_t n) mutable {
                             if (stopped_ && !ec)
                                 return h(asio::error::operation_aborted, 0);
                             if (n > 0)
                                 received(buffers, n);
                             h(ec, n);
                         }));
    }

    template <class ConstBuffers, class Handler>
    void async_write_some(const ConstBuffers& buffers, Handler&& handler)
    {
        next_.async_write_some(buffers, std::forward<Handler>(handler));
    }

private:
    template <class MutableBuffers>
    void received(const MutableBuffers& buffers, std::size_t n)
    {
        last_read_ = clock::now();
        if (on_bytes_)
            on_bytes_();
        if (!guard_)
            return;
        for (auto it = asio::buffer_sequence_begin(buffers);
             n > 0 && it != asio::buffer_sequence_end(buffers); ++it) {
            const asio::mutable_buffer b = *it;
            const std::size_t k = std::min(n, b.size());
            n -= k;
            if (auto ec = guard_->feed({static_cast<const char*>(b.data()), k}, last_read_)) {
                if (auto f = std::exchange(on_trip_, nullptr))
                    f(ec);
                return;
            }
        }
    }

    Next next_;
    clock::time_point last_read_ = clock::now();
    std::optional<message_guard> guard_;
    std::function<void(std::error_code)> on_trip_;
    std::function<void()> on_bytes_;
    bool stopped_ = false;
};

/// Beast's closing handshake tears down the layer under the guard.
template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, guarded_stream<Next>& s, Handler&& handler)
{
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}

template <class Next>
void teardown(boost::beast::role_type role, guarded_stream<Next>& s,
              boost::system::error_code& ec)
{
    using boost::beast::websocket::teardown;
    teardown(role, s.next_layer(), ec);
}

} // namespace mailroom::ws::detail
