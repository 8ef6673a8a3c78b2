#include "link.hpp"
#include "server_options.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/detail/tls_context.hpp>
#include <mailroom/ws/error.hpp>
#include <mailroom/ws/mailbox.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/error.hpp>

#include <string>
#include <type_traits>

namespace mailroom::ws {
namespace {

using detail::plain_stream;
using detail::tls_stream;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

std::error_code cancelled() { return std::make_error_code(std::errc::operation_canceled); }

/// What a failed upgrade means, from the server's HTTP answer.
std::error_code upgrade_error(const boost::system::error_code& ec, const websocket::response_type& res)
{
    if (ec == websocket::error::upgrade_declined) {
        switch (res.result_int()) {
        case 401:
            return ws_error::unauthorized;
        case 404:
            return ws_error::not_found;
        default:
            return ws_error::upgrade_refused;
        }
    }
    if (ec == beast::error::timeout)
        return std::make_error_code(std::errc::timed_out);
    return mailroom::detail::to_std_error(ec);
}

/// Resolve, connect, (TLS handshake,) WebSocket upgrade, then the link. The connect handler
/// runs exactly once, on the strand.
template <class Stream>
class ws_mailbox final : public mailroom::mailbox, public detail::ws_link<Stream> {
    using base = detail::ws_link<Stream>;

public:
    ws_mailbox(const mailbox_context& ctx, const client_options& options)
        requires std::is_same_v<Stream, plain_stream>
        : base(options.stream, ctx.max_frame_size, asio::make_strand(ctx.executor)),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(this->executor())
    {
    }

    ws_mailbox(const mailbox_context& ctx, const client_options& options,
               std::shared_ptr<tcp::detail::tls_context> tls)
        requires std::is_same_v<Stream, tls_stream>
        : base(options.stream, ctx.max_frame_size, asio::make_strand(ctx.executor), *tls),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(this->executor()),
          tls_(std::move(tls))
    {
        tcp::detail::prepare_client(this->inner().native_handle(), options.tls, host_);
    }

    void async_connect(connect_handler handler) override
    {
        asio::post(this->executor(), [self = self(), h = std::move(handler)]() mutable {
            self->configure();
            self->resolve(std::move(h));
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

    void resolve(connect_handler h)
    {
        if (this->closing())
            return h(cancelled());
        resolver_.async_resolve(
            host_, port_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                              asio::ip::tcp::resolver::results_type results) mutable {
                if (ec || self->closing())
                    return h(ec ? mailroom::detail::to_std_error(ec) : cancelled());
                self->connect(results, std::move(h));
            });
    }

    void connect(const asio::ip::tcp::resolver::results_type& results, connect_handler h)
    {
        this->lowest_layer().async_connect(
            results, [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                                       const asio::ip::tcp::endpoint&) mutable {
                if (ec || self->closing())
                    return h(ec ? mailroom::detail::to_std_error(ec) : cancelled());
                boost::system::error_code ignored;
                self->lowest_layer().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
                if constexpr (std::is_same_v<Stream, tls_stream>)
                    self->tls_handshake(std::move(h));
                else
                    self->upgrade(std::move(h));
            });
    }

    void tls_handshake(connect_handler h)
        requires std::is_same_v<Stream, tls_stream>
    {
        this->inner().async_handshake(
            asio::ssl::stream_base::client,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                if (self->closing())
                    return h(cancelled());
                if (ec)
                    return h(tcp::detail::handshake_error(ec, self->inner().native_handle()));
                self->upgrade(std::move(h));
            });
    }

    void upgrade(connect_handler h)
    {
        this->ws().set_option(websocket::stream_base::decorator(
            [token = token_](websocket::request_type& req) {
                req.set(http::field::user_agent, "mailroom");
                if (!token.empty())
                    req.set(http::field::authorization, "Bearer " + token);
            }));
        const bool v6 = host_.find(':') != std::string::npos; // an IPv6 literal
        this->ws().async_handshake(
            res_, (v6 ? "[" + host_ + "]" : host_) + ":" + port_, path_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                if (self->closing())
                    return h(cancelled());
                if (ec) {
                    self->hard_close(); // also stops Beast's handshake timer
                    return h(upgrade_error(ec, self->res_));
                }
                self->connected_ = true;
                self->start();
                h({});
            });
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

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
    websocket::response_type res_;
    bool connected_ = false; // strand only
    std::shared_ptr<tcp::detail::tls_context> tls_; // outlives the stream's SSL object
};

/// A mail box that only reports why it cannot exist (a TLS context that does not load).
class failed_mailbox final : public mailroom::mailbox {
public:
    failed_mailbox(asio::any_io_executor ex, std::error_code ec) : ex_(std::move(ex)), ec_(ec) {}

    void async_connect(connect_handler handler) override
    {
        asio::post(ex_, [h = std::move(handler), ec = ec_]() mutable { h(ec); });
    }
    void send(frame) override {}
    void close() override {}

private:
    asio::any_io_executor ex_;
    std::error_code ec_;
};

} // namespace

mailbox_factory make_mailbox_factory(client_options options)
{
    auto contexts = std::make_shared<tcp::detail::client_context_cache>();
    return [options, contexts](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        const auto o = detail::client_options_for(ctx.server, options);
        if (!o.tls.enabled)
            return std::make_shared<ws_mailbox<plain_stream>>(ctx, o);
        std::error_code ec;
        auto tls_ctx = contexts->get(o.tls, ec);
        if (!tls_ctx)
            return std::make_shared<failed_mailbox>(ctx.executor, ec);
        return std::make_shared<ws_mailbox<tls_stream>>(ctx, o, std::move(tls_ctx));
    };
}

} // namespace mailroom::ws
