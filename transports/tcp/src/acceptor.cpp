#include "framed_stream.hpp"

#include <mailroom/tcp/accept_loop.hpp>
#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/listen.hpp>
#include <mailroom/tcp/tls_context.hpp>

#include <boost/asio/post.hpp>

#include <memory>
#include <string>

namespace mailroom::tcp {
namespace {

/// One accepted link; `Socket` is a `basic_plain_socket` or `basic_tls_socket`.
template <class Socket>
class tcp_connection final : public connection, public detail::framed_stream<Socket> {
    using base = detail::framed_stream<Socket>;
    static constexpr bool tls = base::tls;

public:
    using tcp_socket_type = typename base::tcp_socket_type;

    tcp_connection(tcp_socket_type socket, const acceptor_options& options)
        requires(!tls)
        : base(std::move(socket), options.stream, options.max_frame_size, options.protocol)
    {
        init(options);
    }

    tcp_connection(tcp_socket_type socket, const acceptor_options& options,
                   std::shared_ptr<tls_context> tls_ctx)
        requires(tls)
        : base(std::move(socket), *tls_ctx, options.stream, options.max_frame_size,
               options.protocol),
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
        this->expect_handshake(handler_->limits_before_handshake());
        this->start();
    }

    /// Keeps `slot` (a place in the acceptor's connection limit) until destroyed.
    void hold(connection_slot slot) noexcept { slot_ = std::move(slot); }
    void send(frame f) override { this->send_frame(std::move(f)); }
    void handshake_done() override { this->handshake_complete(); }
    void close() override { this->close_stream(true); }
    std::string remote_address() const override { return remote_; }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    void init(const acceptor_options& options)
    {
        remote_ = peer_address(this->tcp_socket());
        boost::system::error_code ec;
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
    std::shared_ptr<tls_context> tls_; // outlives the stream's SSL object
    connection_slot slot_;
    struct no_timer {
        explicit no_timer(const typename base::executor_type&) {}
    };
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>,
                                                  typename base::executor_type>;
    std::conditional_t<tls, timer_type, no_timer> handshake_timer_{this->executor()};
};

class tcp_acceptor final
    : public accept_loop<tcp_acceptor, tcp::acceptor, acceptor_options> {
    using base = accept_loop<tcp_acceptor, tcp::acceptor, acceptor_options>;
    friend base;

public:
    using base::base;

private:
    /// On the strand: a plain connection goes to the core at once, a TLS one after its handshake.
    template <class Strand>
    void accepted(basic_plain_socket<Strand> socket, connection_slot slot)
    {
        if (!tls_) {
            auto conn = std::make_shared<tcp_connection<basic_plain_socket<Strand>>>(
                std::move(socket), options_);
            conn->hold(std::move(slot));
            return hand_over(std::move(conn));
        }
        // The core sees a TLS connection only once its handshake succeeded.
        auto conn = std::make_shared<tcp_connection<basic_tls_socket<Strand>>>(
            std::move(socket), options_, tls_);
        conn->hold(std::move(slot));
        track_opening(conn);
        asio::post(conn->executor(), [self = shared_from_this(), conn] {
            conn->handshake(self->options_.handshake_timeout, [self, conn] {
                asio::post(self->strand_, [self, conn] {
                    if (!self->finish_opening(conn))
                        return conn->close_stream(false);
                    self->hand_over(conn);
                });
            });
        });
    }
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<tcp_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::tcp
