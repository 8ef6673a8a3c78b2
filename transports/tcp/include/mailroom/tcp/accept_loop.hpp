#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/log_limiter.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/tcp/listen.hpp>
#include <mailroom/tcp/socket.hpp>
#include <mailroom/tcp/tls_context.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace mailroom::tcp {

/** One place in an acceptor's connection limit (`max_connections`), held by an accepted
    connection for as long as it exists; released on destruction. Move-only.

    @par Thread safety
    Distinct objects: safe (the count is atomic). Shared objects: unsafe.
*/
class connection_slot {
public:
    connection_slot() = default;
    explicit connection_slot(std::shared_ptr<std::atomic<std::size_t>> count) noexcept
        : count_(std::move(count))
    {
    }
    connection_slot(connection_slot&&) noexcept = default;
    connection_slot& operator=(connection_slot&& other) noexcept
    {
        if (this != &other) {
            release();
            count_ = std::move(other.count_);
        }
        return *this;
    }
    ~connection_slot() { release(); }

private:
    void release() noexcept
    {
        if (auto c = std::exchange(count_, nullptr))
            c->fetch_sub(1, std::memory_order_relaxed);
    }
    std::shared_ptr<std::atomic<std::size_t>> count_;
};

/** The listening half of a TCP-based acceptor (the TCP and WebSocket transports use it):
    the TLS server context, @ref listen, and the accept loop. The loop puts each accepted
    socket on a strand of its own and, on errors such as running out of descriptors, waits
    100 ms instead of spinning. It keeps the connections accepted but not handed to the core
    yet (a TLS handshake, a WebSocket upgrade), so that `close` closes them too, and it
    closes the listening socket in `close` itself, so the port is free when `close` returns.

    Template parameters (CRTP):
    - `Derived` derives from `accept_loop` and has `template <class Strand> void
      accepted(basic_plain_socket<Strand> socket, connection_slot slot)`, called on the
      acceptor's strand (`strand_`) for each accepted socket; the connection made of it keeps
      `slot` for its lifetime. It either calls @ref hand_over at once, or
      @ref track_opening, then (on `strand_`) @ref finish_opening and @ref hand_over.
    - `Base` is the transport's public acceptor (a `mailroom::acceptor` with pure
      `std::uint16_t port() const`, `std::uint64_t refused() const` and
      `std::size_t open_connections() const`).
    - `Options` has `host`, `port`, `tls` (a @ref tls_options), `max_connections` and `log`.

    Connection limit: once `max_connections` accepted connections exist (from the accept to
    their destruction, upgrades and TLS handshakes included), each new one is closed at once,
    counted (@ref refused) and logged at most once per 10 s with the count since the last
    line.
    - `Opening` is the type of the connections kept while opening (a `mailroom::connection`
      by default).

    `Derived` may hide two static hooks: `with_accept_strand(ex, make)` chooses the strand
    of each socket (default @ref with_strand: the concrete @ref io_strand over an
    io_context), and `abort_opening(Opening&)` closes a connection still opening when the
    acceptor closes (default `close()`).

    @par Thread safety
    `start`, `close`, `local_address` and `port` may be called from any thread (a mutex
    guards the listening socket, the retry timer and the opening list). The protected
    helpers are called on `strand_`, except where noted.

    @par Example
    @code
    class my_acceptor final : public mailroom::tcp::accept_loop<my_acceptor, my::acceptor, my::options> {
        friend accept_loop;
        template <class Strand>
        void accepted(mailroom::tcp::basic_plain_socket<Strand> s, mailroom::tcp::connection_slot slot)
        { hand_over(std::make_shared<my_connection<Strand>>(std::move(s), std::move(slot))); }
    public:
        using accept_loop::accept_loop;
    };
    @endcode
*/
template <class Derived, class Base, class Options, class Opening = connection>
class accept_loop : public Base, public std::enable_shared_from_this<Derived> {
public:
    /// Binds nothing yet: `start` listens. The strands of accepted sockets are made on `ex`.
    accept_loop(asio::any_io_executor ex, Options options)
        : strand_(asio::make_strand(ex)), options_(std::move(options)), ex_(std::move(ex)),
          acceptor_(strand_), retry_timer_(strand_)
    {
    }

    /** Loads the TLS server context (if `options_.tls.enabled`), listens, and starts
        accepting. Returns the TLS or @ref listen error; `on_accept` then never runs.
    */
    std::error_code start(accept_handler on_accept) override
    {
        if (options_.tls.enabled) {
            std::error_code tls_ec;
            tls_ = make_server_context(options_.tls, tls_ec);
            if (!tls_)
                return tls_ec;
        }
        asio::ip::tcp::endpoint local;
        if (auto ec = tcp::listen(acceptor_, options_.host, options_.port, local))
            return ec;
        port_ = local.port();
        address_ = format_endpoint(local);
        on_accept_ = std::move(on_accept);
        asio::post(strand_, [self = this->shared_from_this()] { self->do_accept(); });
        return {};
    }

    /// Stops accepting and closes the connections still opening; the port is free on return.
    void close() override
    {
        // Closed here rather than on the strand, so the port is free when close() returns
        // (a server restarting on the same port binds right after stop()).
        std::lock_guard lock(mu_);
        closed_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_timer_.cancel();
        for (auto& w : opening_)
            if (auto conn = w.lock())
                Derived::abort_opening(*conn); // nothing is queued yet: it closes at once
        opening_.clear();
    }

    /// "host:port" as @ref format_endpoint writes it, once started.
    std::string local_address() const override { return address_; }
    /// The bound port once started (the real one when bound to port 0).
    std::uint16_t port() const override { return port_.load(); }
    /// Connections refused by the `max_connections` limit so far.
    std::uint64_t refused() const override { return refused_.load(std::memory_order_relaxed); }
    /// Accepted connections that still exist.
    std::size_t open_connections() const override
    {
        return open_->load(std::memory_order_relaxed);
    }

protected:
    /// The default strand choice: @ref with_strand.
    template <class Make>
    static auto with_accept_strand(const asio::any_io_executor& ex, Make&& make)
    {
        return with_strand(ex, std::forward<Make>(make));
    }

    /// The default way to close a connection still opening.
    static void abort_opening(Opening& conn) { conn.close(); }

    /// On the strand: keeps `conn` until @ref finish_opening, for `close` to close.
    void track_opening(std::weak_ptr<Opening> conn)
    {
        std::lock_guard lock(mu_);
        std::erase_if(opening_, [](const auto& w) { return w.expired(); });
        opening_.push_back(std::move(conn));
    }

    /// On the strand: forgets `conn`; false if the acceptor closed meanwhile (the caller
    /// closes `conn` then).
    bool finish_opening(const std::shared_ptr<Opening>& conn)
    {
        std::lock_guard lock(mu_);
        std::erase_if(opening_, [&](const auto& w) { return w.expired() || w.lock() == conn; });
        return !closed_;
    }

    /** On the strand: gives `conn` to the core, or closes it if nobody takes it. The core's
        handler is attached with `conn->open(handler)`, posted to `conn_strand`.
    */
    template <class Connection, class Executor>
    void hand_over(std::shared_ptr<Connection> conn, const Executor& conn_strand)
    {
        auto handler = on_accept_(conn);
        if (!handler)
            return conn->close();
        asio::post(conn_strand, [conn, handler]() mutable { conn->open(std::move(handler)); });
    }

    /// As above, on `conn->executor()`.
    template <class Connection>
    void hand_over(std::shared_ptr<Connection> conn)
    {
        auto ex = conn->executor();
        hand_over(std::move(conn), ex);
    }

    asio::strand<asio::any_io_executor> strand_; ///< the acceptor's own strand
    Options options_;
    std::shared_ptr<tls_context> tls_; ///< set by `start` when TLS is enabled

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        Derived::with_accept_strand(ex_, [this](auto strand) { accept_on(std::move(strand)); });
    }

    template <class Strand>
    void accept_on(Strand strand)
    {
        // A handler with a concrete parameter: Asio's handler check would instantiate a
        // generic one with its default socket type, over an `any_io_executor`, which is never
        // instantiated and so does not link at -O0.
        acceptor_.async_accept(strand, [self = this->shared_from_this()](
                                           const boost::system::error_code& ec,
                                           basic_plain_socket<Strand> socket) {
            self->on_accept(ec, std::move(socket));
        });
    }

    template <class Strand>
    void on_accept(const boost::system::error_code& ec, basic_plain_socket<Strand> socket)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) {
            // Out of descriptors and the like: wait instead of spinning on the error.
            std::lock_guard lock(mu_);
            if (closed_)
                return;
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait(
                [self = this->shared_from_this()](const boost::system::error_code& e) {
                    if (!e)
                        self->do_accept();
                });
            return;
        }
        if (options_.max_connections > 0 &&
            open_->load(std::memory_order_relaxed) >= options_.max_connections) {
            refuse(socket);
            return do_accept();
        }
        open_->fetch_add(1, std::memory_order_relaxed);
        static_cast<Derived&>(*this).accepted(std::move(socket), connection_slot(open_));
        do_accept();
    }

    /// Beyond `max_connections` (issue 16: thousands of idle links): closed at once.
    template <class Socket>
    void refuse(Socket& socket)
    {
        // Counted before the close: a peer that sees its refusal then finds it counted.
        const auto total = refused_.fetch_add(1, std::memory_order_relaxed) + 1;
        boost::system::error_code ignored;
        socket.close(ignored);
        std::uint64_t suppressed = 0;
        if (options_.log.enabled(log_level::warning) &&
            refusals_.admit({}, log_limiter::clock::now(), suppressed))
            options_.log.log(log_level::warning,
                             "{}: refusing connections beyond max_connections ({}); {} refused "
                             "so far, {} since the last line",
                             address_, options_.max_connections, total, suppressed + 1);
    }

    asio::any_io_executor ex_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::shared_ptr<std::atomic<std::size_t>> open_ =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::atomic<std::uint64_t> refused_{0};
    log_limiter refusals_{log_limit_settings{}};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_, closed_ and opening_
    bool closed_ = false;
    // Connections not handed to the core yet: close() must not leave them behind.
    std::vector<std::weak_ptr<Opening>> opening_;
};

} // namespace mailroom::tcp
