#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/detail/listen.hpp>
#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/detail/tls_context.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::tcp {
namespace {

/// One accepted link; `Socket` is a `detail::basic_plain_socket` or `basic_tls_socket`.
template <class Socket>
class tcp_connection final : public connection, public detail::framed_stream<Socket> {
    using base = detail::framed_stream<Socket>;
    static constexpr bool tls = base::tls;

public:
    using tcp_socket_type = typename base::tcp_socket_type;

    tcp_connection(tcp_socket_type socket, const acceptor_options& options)
        requires(!tls)
        : base(std::move(socket), options.stream, options.max_frame_size)
    {
        init(options);
    }

    tcp_connection(tcp_socket_type socket, const acceptor_options& options,
                   std::shared_ptr<detail::tls_context> tls_ctx)
        requires(tls)
        : base(std::move(socket), *tls_ctx, options.stream, options.max_frame_size),
          tls_(std::move(tls_ctx))
    {
        init(options);
    }

    /** On the strand: the TLS handshake, bounded by `timeout`. `done(true)` runs on the strand
        once it succeeded; on failure or timeout the connection is dropped (the core never
        sees it) and `done` is not called.
    */
    template <class Done>
    void handshake(std::chrono::milliseconds timeout, Done done)
        requires(tls)
    {
        auto self = std::static_pointer_cast<tcp_connection>(this->shared_from_this());
        handshake_timer_.expires_after(timeout);
        handshake_timer_.async_wait([self](const boost::system::error_code& ec) {
            if (!ec)
                self->close_stream(false);
        });
        this->socket().async_handshake(
            asio::ssl::stream_base::server,
            [self, done = std::move(done)](const boost::system::error_code& ec) mutable {
                self->handshake_timer_.cancel();
                if (ec || self->closing())
                    return self->close_stream(false);
                done();
            });
    }

    /// On the strand: attach the core's handler and start reading.
    void open(std::shared_ptr<connection_handler> handler)
    {
        // Closed between the hand-over and now (the server stopped, say): the core's
        // on_close must still run once, or its session would never be released.
        if (this->finished())
            return handler->on_close(std::make_error_code(std::errc::operation_canceled));
        handler_ = std::move(handler);
        this->start();
    }

    void send(frame f) override { this->send_frame(std::move(f)); }
    void close() override { this->close_stream(true); }
    std::string remote_address() const override { return remote_; }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    void init(const acceptor_options& options)
    {
        boost::system::error_code ec;
        auto ep = this->tcp_socket().remote_endpoint(ec);
        remote_ = ec ? std::string("unknown") : detail::to_string(ep);
        this->tcp_socket().set_option(asio::ip::tcp::no_delay(options.stream.no_delay), ec);
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void closed(std::error_code ec, bool) override
    {
        // The session holds this connection; dropping the handler here breaks that cycle.
        if (auto h = std::move(handler_))
            h->on_close(ec);
    }

    std::shared_ptr<connection_handler> handler_;
    std::string remote_;
    std::shared_ptr<detail::tls_context> tls_; // outlives the stream's SSL object
    struct no_timer {
        explicit no_timer(const typename base::executor_type&) {}
    };
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>,
                                                  typename base::executor_type>;
    std::conditional_t<tls, timer_type, no_timer> handshake_timer_{this->executor()};
};

class tcp_acceptor final : public tcp::acceptor,
                           public std::enable_shared_from_this<tcp_acceptor> {
public:
    tcp_acceptor(asio::any_io_executor ex, acceptor_options options)
        : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), acceptor_(strand_),
          retry_timer_(strand_), options_(std::move(options))
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        if (options_.tls.enabled) {
            std::error_code tls_ec;
            tls_ = detail::make_server_context(options_.tls, tls_ec);
            if (!tls_)
                return tls_ec;
        }
        asio::ip::tcp::endpoint local;
        if (auto ec = detail::listen(acceptor_, options_.host, options_.port, local))
            return ec;
        port_ = local.port();
        address_ = detail::to_string(local);
        on_accept_ = std::move(on_accept);
        asio::post(strand_, [self = shared_from_this()] { self->do_accept(); });
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
        for (auto& w : handshaking_)
            if (auto conn = w.lock())
                conn->close(); // nothing is queued yet: it closes at once
        handshaking_.clear();
    }

    std::string local_address() const override { return address_; }
    std::uint16_t port() const override { return port_.load(); }

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        // Each connection on its own strand, of a concrete type when ex_ is an io_context's.
        detail::with_strand(ex_, [&](auto strand) {
            acceptor_.async_accept(strand, [self = shared_from_this()](
                                               const boost::system::error_code& ec, auto socket) {
                self->on_accept(ec, std::move(socket));
            });
        });
    }

    template <class Strand>
    void on_accept(const boost::system::error_code& ec, detail::basic_plain_socket<Strand> socket)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) {
            // Out of descriptors and the like: wait instead of spinning on the error.
            std::lock_guard lock(mu_);
            if (closed_)
                return;
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e)
                    self->do_accept();
            });
            return;
        }
        if (tls_) {
            // The core sees a TLS connection only once its handshake succeeded.
            auto conn = std::make_shared<tcp_connection<detail::basic_tls_socket<Strand>>>(
                std::move(socket), options_, tls_);
            {
                std::lock_guard lock(mu_);
                std::erase_if(handshaking_, [](const auto& w) { return w.expired(); });
                handshaking_.push_back(conn);
            }
            asio::post(conn->executor(), [self = shared_from_this(), conn] {
                conn->handshake(self->options_.handshake_timeout, [self, conn] {
                    asio::post(self->strand_, [self, conn] {
                        {
                            std::lock_guard lock(self->mu_);
                            std::erase_if(self->handshaking_, [&](const auto& w) {
                                return w.lock() == conn;
                            });
                            if (self->closed_)
                                return conn->close_stream(false);
                        }
                        self->hand_over(conn);
                    });
                });
            });
        } else {
            hand_over(std::make_shared<tcp_connection<detail::basic_plain_socket<Strand>>>(
                std::move(socket), options_));
        }
        do_accept();
    }

    /// On the strand: gives the connection to the core, or closes it if nobody takes it.
    template <class Connection>
    void hand_over(std::shared_ptr<Connection> conn)
    {
        auto handler = on_accept_(conn);
        if (!handler) {
            conn->close();
        } else {
            asio::post(conn->executor(), [conn, handler]() mutable {
                conn->open(std::move(handler));
            });
        }
    }

    asio::any_io_executor ex_;
    asio::strand<asio::any_io_executor> strand_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    acceptor_options options_;
    std::shared_ptr<detail::tls_context> tls_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_, closed_ and handshaking_
    bool closed_ = false;
    // TLS connections not handed to the core yet: close() must not leave them behind.
    std::vector<std::weak_ptr<connection>> handshaking_;
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<tcp_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::tcp
