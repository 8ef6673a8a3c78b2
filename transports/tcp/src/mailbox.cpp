#include "framed_stream.hpp"

#include "connect.hpp"
#include <mailroom/tcp/failed_mailbox.hpp>
#include <mailroom/tcp/tls_context.hpp>
#include <mailroom/tcp/mailbox.hpp>

#include <boost/asio/post.hpp>

#include <string>

namespace mailroom::tcp {
namespace {

/// Resolve, connect, (TLS handshake,) then the framed stream. The connect handler runs
/// exactly once, on the strand. `Socket` is a `basic_plain_socket` or
/// `basic_tls_socket`.
template <class Socket>
class tcp_mailbox final : public mailroom::mailbox, public detail::framed_stream<Socket> {
    using base = detail::framed_stream<Socket>;
    static constexpr bool tls = base::tls;
    using strand_type = typename base::executor_type;
    using tcp_socket_type = typename base::tcp_socket_type;

public:
    tcp_mailbox(const mailbox_context& ctx, strand_type strand, const stream_options& options)
        requires(!tls)
        : base(tcp_socket_type(strand), options, ctx.max_frame_size, ctx.protocol),
          handler_(ctx.handler),
          host_(ctx.server.host), port_(std::to_string(ctx.server.port)), resolver_(strand),
          no_delay_(options.no_delay)
    {
    }

    tcp_mailbox(const mailbox_context& ctx, strand_type strand, const stream_options& options,
                std::shared_ptr<tls_context> tls_ctx, const tls_options& tls_opts)
        requires(tls)
        : base(tcp_socket_type(strand), *tls_ctx, options, ctx.max_frame_size, ctx.protocol),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          resolver_(strand), no_delay_(options.no_delay), tls_(std::move(tls_ctx))
    {
        prepare_client(this->socket().native_handle(), tls_opts, host_);
    }

    void async_connect(connect_handler handler) override
    {
        asio::post(this->executor(), [self = self(), h = std::move(handler)]() mutable {
            self->connect(std::move(h));
        });
    }

    void send(frame f) override { this->send_frame(std::move(f)); }

    void close() override { this->close_stream(false); }

    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    std::shared_ptr<tcp_mailbox> self()
    {
        return std::static_pointer_cast<tcp_mailbox>(this->shared_from_this());
    }

    static std::error_code cancelled() { return std::make_error_code(std::errc::operation_canceled); }

    using resolver_type = asio::ip::basic_resolver<asio::ip::tcp, strand_type>;

    void connect(connect_handler h)
    {
        auto connected = [self = self(), h = std::move(h)](std::error_code ec) mutable {
            if (ec)
                return h(ec);
            if constexpr (tls)
                self->handshake(std::move(h));
            else
                self->opened(std::move(h));
        };
        detail::resolve_and_connect(resolver_, this->tcp_socket(), host_, port_, no_delay_,
                                    [self = self()] { return self->closing(); },
                                    std::move(connected));
    }

    void handshake(connect_handler h)
        requires(tls)
    {
        this->socket().async_handshake(
            asio::ssl::stream_base::client,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                if (self->closing())
                    return h(cancelled());
                if (ec)
                    return h(handshake_error(ec, self->socket().native_handle()));
                self->opened(std::move(h));
            });
    }

    void opened(connect_handler h)
    {
        connected_ = true;
        this->start();
        h({});
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void stall_changed(bool stalled) override
    {
        if (connected_)
            handler_->on_stall(stalled);
    }

    void closed(std::error_code ec, bool local) override
    {
        resolver_.cancel();
        // The station closed us itself, or never saw us connect: it expects no on_close.
        if (!local && connected_)
            handler_->on_close(ec);
    }

    std::shared_ptr<mailbox_handler> handler_;
    std::string host_;
    std::string port_;
    resolver_type resolver_;
    bool no_delay_;
    bool connected_ = false; // strand only
    std::shared_ptr<tls_context> tls_; // outlives the stream's SSL object
};

} // namespace

mailbox_factory make_mailbox_factory(stream_options options, tls_options tls)
{
    auto contexts = std::make_shared<client_context_cache>();
    return [options, tls, contexts](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        const auto t = tls_for(ctx.server, tls);
        std::shared_ptr<tls_context> tls_ctx;
        if (t.enabled) {
            std::error_code ec;
            tls_ctx = contexts->get(t, ec);
            if (!tls_ctx)
                return std::make_shared<failed_mailbox>(ctx.executor, ec);
        }
        // A strand of a concrete type when the station's executor is an io_context's.
        return with_strand(ctx.executor, [&](auto strand) -> std::shared_ptr<mailroom::mailbox> {
            using strand_type = decltype(strand);
            if (!tls_ctx)
                return std::make_shared<tcp_mailbox<basic_plain_socket<strand_type>>>(
                    ctx, strand, options);
            return std::make_shared<tcp_mailbox<basic_tls_socket<strand_type>>>(
                ctx, strand, options, std::move(tls_ctx), t);
        });
    };
}

} // namespace mailroom::tcp
