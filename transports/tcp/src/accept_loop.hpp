#pragma once

// Private to the TCP transport.

#include <mailroom/detail/config.hpp>
#include <mailroom/server/acceptor.hpp>
#include "listen.hpp"
#include "socket.hpp"
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

namespace mailroom::tcp::detail {

/** What the tcp and ws acceptors share: the TLS server context, listening, and the accept
    loop, which puts each socket on a strand of its own (of a concrete type when it can be)
    and, on errors such as running out of descriptors, waits instead of spinning. It also
    keeps the connections accepted but not handed to the core yet (a TLS handshake, a
    WebSocket upgrade), so that `close` closes them too.

    `Base` is the transport's public acceptor (with `port()`), `Options` its options (`host`,
    `port`, `tls`). `Derived` has `template <class Strand> void
    accepted(basic_plain_socket<Strand>)`, called on the acceptor's strand for each socket.
*/
template <class Derived, class Base, class Options>
class accept_loop : public Base, public std::enable_shared_from_this<Derived> {
public:
    accept_loop(asio::any_io_executor ex, Options options)
        : strand_(asio::make_strand(ex)), options_(std::move(options)), ex_(std::move(ex)),
          acceptor_(strand_), retry_timer_(strand_)
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        if (options_.tls.enabled) {
            std::error_code tls_ec;
            tls_ = make_server_context(options_.tls, tls_ec);
            if (!tls_)
                return tls_ec;
        }
        asio::ip::tcp::endpoint local;
        if (auto ec = detail::listen(acceptor_, options_.host, options_.port, local))
            return ec;
        port_ = local.port();
        address_ = detail::to_string(local);
        on_accept_ = std::move(on_accept);
        asio::post(strand_, [self = this->shared_from_this()] { self->do_accept(); });
        return {};
    }

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
                conn->close(); // nothing is queued yet: it closes at once
        opening_.clear();
    }

    std::string local_address() const override { return address_; }
    std::uint16_t port() const override { return port_.load(); }

protected:
    /// On the strand: keeps `conn` until @ref finish_opening, for `close` to close.
    void track_opening(std::weak_ptr<connection> conn)
    {
        std::lock_guard lock(mu_);
        std::erase_if(opening_, [](const auto& w) { return w.expired(); });
        opening_.push_back(std::move(conn));
    }

    /// On the strand: forgets `conn`; false if the acceptor closed meanwhile (the caller
    /// closes `conn` then).
    bool finish_opening(const std::shared_ptr<connection>& conn)
    {
        std::lock_guard lock(mu_);
        std::erase_if(opening_, [&](const auto& w) { return w.lock() == conn; });
        return !closed_;
    }

    /// On the strand: gives the connection to the core, or closes it if nobody takes it.
    template <class Connection>
    void hand_over(std::shared_ptr<Connection> conn)
    {
        auto handler = on_accept_(conn);
        if (!handler)
            return conn->close();
        asio::post(conn->executor(), [conn, handler]() mutable { conn->open(std::move(handler)); });
    }

    asio::strand<asio::any_io_executor> strand_;
    Options options_;
    std::shared_ptr<tls_context> tls_;

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        detail::with_strand(ex_, [this](auto strand) { accept_on(std::move(strand)); });
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
        static_cast<Derived&>(*this).accepted(std::move(socket));
        do_accept();
    }

    asio::any_io_executor ex_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_, closed_ and opening_
    bool closed_ = false;
    // Connections not handed to the core yet: close() must not leave them behind.
    std::vector<std::weak_ptr<connection>> opening_;
};

} // namespace mailroom::tcp::detail
