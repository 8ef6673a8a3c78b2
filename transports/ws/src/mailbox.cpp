#include "link.hpp"
#include "server_options.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/failed_mailbox.hpp>
#include <mailroom/tcp/tls_context.hpp>
#include <mailroom/ws/error.hpp>
#include <mailroom/ws/mailbox.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <string>

namespace mailroom::ws {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using detail::strand_type;

std::error_code cancelled() { return std::make_error_code(std::errc::operation_canceled); }

/// What a refused upgrade means, from the server's HTTP status.
std::error_code refusal(unsigned status)
{
    switch (status) {
    case 401:
        return ws_error::unauthorized;
    case 403:
        return ws_error::forbidden;
    case 404:
        return ws_error::not_found;
    default:
        return ws_error::upgrade_refused;
    }
}

/// A failed step of the opening: the deadline (`handshake_timeout`) reads as a timeout.
std::error_code opening_error(const boost::system::error_code& ec)
{
    if (ec == boost::beast::error::timeout)
        return std::make_error_code(std::errc::timed_out);
    // With TLS 1.3 a server refusing our client certificate says so after our handshake
    // completed: its alert fails the upgrade's read.
    return tcp::read_error(ec);
}

/** Resolve, connect, (TLS handshake,) Beast's WebSocket handshake offering batches, then the
    link. TLS and the upgrade share one deadline, `handshake_timeout`, from the TCP connect.
    The connect handler runs exactly once, on the strand.
*/
template <class Next>
class ws_mailbox final : public mailroom::mailbox, public detail::ws_link<Next> {
    using base = detail::ws_link<Next>;
    static constexpr bool tls = base::tls;

public:
    ws_mailbox(const mailbox_context& ctx, strand_type strand, const client_options& options)
        requires(!tls)
        : base(strand, options.stream, ctx.max_frame_size, asio::any_io_executor(strand)),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(asio::any_io_executor(strand))
    {
    }

    ws_mailbox(const mailbox_context& ctx, strand_type strand, const client_options& options,
               std::shared_ptr<tcp::tls_context> tls_ctx)
        requires(tls)
        : base(strand, options.stream, ctx.max_frame_size, asio::any_io_executor(strand), *tls_ctx),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(asio::any_io_executor(strand)),
          tls_(std::move(tls_ctx))
    {
        tcp::prepare_client(this->http_stream().native_handle(), options.tls, host_);
    }

    void async_connect(connect_handler handler) override
    {
        asio::post(this->executor(), [self = self(), h = std::move(handler)]() mutable {
            self->connect(std::move(h));
        });
    }

    void send(frame f) override { this->send_frame(std::move(f)); }
    void close() override { this->close_link(false); }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    std::shared_ptr<ws_mailbox> self()
    {
        return std::static_pointer_cast<ws_mailbox>(this->shared_from_this());
    }

    /// The opening failed: the socket closes, the station hears `ec` (or why it stopped).
    void fail_connect(connect_handler& h, std::error_code ec)
    {
        if (this->closing())
            ec = cancelled();
        this->hard_close();
        h(ec);
    }

    void connect(connect_handler h)
    {
        if (this->closing())
            return fail_connect(h, cancelled());
        resolver_.async_resolve(
            host_, port_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                              asio::ip::tcp::resolver::results_type results) mutable {
                if (ec || self->closing())
                    return self->fail_connect(h, ec ? opening_error(ec) : cancelled());
                self->tcp().async_connect(
                    results, [self, h = std::move(h)](const boost::system::error_code& ec,
                                                      const asio::ip::tcp::endpoint&) mutable {
                        if (ec || self->closing())
                            return self->fail_connect(h, ec ? opening_error(ec) : cancelled());
                        boost::system::error_code ignored;
                        self->tcp().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
                        self->tcp().expires_after(self->options().handshake_timeout);
                        if constexpr (tls)
                            self->tls_handshake(std::move(h));
                        else
                            self->upgrade(std::move(h));
                    });
            });
    }

    void tls_handshake(connect_handler h)
        requires(tls)
    {
        this->http_stream().async_handshake(
            asio::ssl::stream_base::client,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                if (ec == boost::beast::error::timeout)
                    return self->fail_connect(h, opening_error(ec));
                if (ec || self->closing())
                    return self->fail_connect(
                        h, ec ? tcp::handshake_error(ec, self->http_stream().native_handle())
                              : cancelled());
                self->upgrade(std::move(h));
            });
    }

    void upgrade(connect_handler h)
    {
        const bool v6 = host_.find(':') != std::string::npos; // an IPv6 literal
        const std::string host = (v6 ? "[" + host_ + "]" : host_) + ":" + port_;
        this->ws().set_option(websocket::stream_base::decorator(
            [token = token_](websocket::request_type& req) {
                req.set(http::field::user_agent, "mailroom");
                req.set(http::field::sec_websocket_protocol,
                        boost::beast::string_view(detail::batch_subprotocol.data(),
                                                  detail::batch_subprotocol.size()));
                if (!token.empty())
                    req.set(http::field::authorization, "Bearer " + token);
            }));
        this->ws().async_handshake(
            response_, host, path_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                self->on_handshake(ec, std::move(h));
            });
    }

    void on_handshake(const boost::system::error_code& ec, connect_handler h)
    {
        if (this->closing())
            return fail_connect(h, cancelled());
        const unsigned status = response_.result_int();
        // A TLS alert refusing our client certificate ends the read before any status line
        // (the response still holds its default status).
        if (ec && ec.category() == asio::error::get_ssl_category())
            return fail_connect(h, opening_error(ec));
        // A refusal is known from its status line.
        if (ec && status != 0 && status != 101)
            return fail_connect(h, refusal(status));
        if (ec && ec.category() == websocket::make_error_code(websocket::error::closed).category())
            return fail_connect(h, ws_error::upgrade_refused); // a 101 Beast does not accept
        if (ec)
            return fail_connect(h, opening_error(ec));
        const auto protocol = response_[http::field::sec_websocket_protocol];
        if (!protocol.empty() && protocol != boost::beast::string_view(detail::batch_subprotocol.data(),
                                                                       detail::batch_subprotocol.size()))
            return fail_connect(h, ws_error::upgrade_refused);
        // The server speaks batches if it said so; an older one sends one body per message.
        this->tcp().expires_never();
        this->enable(boost::beast::role_type::client, !protocol.empty());
        response_ = {};
        connected_ = true;
        h({});
        this->start(); // after the station heard of the link: the first bytes may close it
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
    std::string path_;
    std::string token_;
    asio::ip::tcp::resolver resolver_;
    websocket::response_type response_;
    bool connected_ = false; // strand only
    std::shared_ptr<tcp::tls_context> tls_; // outlives the stream's SSL object
};

} // namespace

mailbox_factory make_mailbox_factory(client_options options)
{
    auto contexts = std::make_shared<tcp::client_context_cache>();
    return [options, contexts](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        const auto o = detail::client_options_for(ctx.server, options);
        auto strand = asio::make_strand(ctx.executor);
        if (!o.tls.enabled)
            return std::make_shared<ws_mailbox<detail::plain_layer>>(ctx, std::move(strand), o);
        std::error_code ec;
        auto tls_ctx = contexts->get(o.tls, ec);
        if (!tls_ctx)
            return std::make_shared<tcp::failed_mailbox>(ctx.executor, ec);
        return std::make_shared<ws_mailbox<detail::tls_layer>>(ctx, std::move(strand), o, tls_ctx);
    };
}

} // namespace mailroom::ws
