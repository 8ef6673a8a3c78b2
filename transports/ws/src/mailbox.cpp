#include "link.hpp"
#include "server_options.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/detail/connect.hpp>
#include <mailroom/tcp/detail/failed_mailbox.hpp>
#include <mailroom/tcp/detail/tls_context.hpp>
#include <mailroom/ws/error.hpp>
#include <mailroom/ws/mailbox.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/core/string.hpp>

#include <optional>
#include <string>
#include <type_traits>

namespace mailroom::ws {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

std::error_code cancelled() { return std::make_error_code(std::errc::operation_canceled); }

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

/// What a refused upgrade means, from the server's HTTP status.
std::error_code refusal(unsigned status)
{
    switch (status) {
    case 401:
        return ws_error::unauthorized;
    case 404:
        return ws_error::not_found;
    default:
        return ws_error::upgrade_refused;
    }
}

/// Resolve, connect, (TLS handshake,) WebSocket upgrade offering batches, then the link. The
/// connect handler runs exactly once, on the strand.
template <class Stream>
class ws_mailbox final : public mailroom::mailbox, public detail::ws_link<Stream> {
    using base = detail::ws_link<Stream>;
    static constexpr bool tls = base::tls;
    using strand_type = typename base::executor_type;
    using tcp_socket_type = typename base::tcp_socket_type;
    using resolver_type = asio::ip::basic_resolver<asio::ip::tcp, strand_type>;

public:
    ws_mailbox(const mailbox_context& ctx, strand_type strand, const client_options& options)
        requires(!tls)
        : base(detail::ws_role::client, options.stream, ctx.max_frame_size, tcp_socket_type(strand)),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(strand)
    {
    }

    ws_mailbox(const mailbox_context& ctx, strand_type strand, const client_options& options,
               std::shared_ptr<tcp::detail::tls_context> tls_ctx)
        requires(tls)
        : base(detail::ws_role::client, options.stream, ctx.max_frame_size, tcp_socket_type(strand),
               *tls_ctx),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          path_(options.path), token_(options.token), resolver_(strand), tls_(std::move(tls_ctx))
    {
        tcp::detail::prepare_client(this->stream().native_handle(), options.tls, host_);
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

    /// The handshake failed: the socket closes, the station hears `ec` (or why it stopped).
    void fail_connect(connect_handler& h, std::error_code ec)
    {
        if (this->handshake_timed_out())
            ec = std::make_error_code(std::errc::timed_out);
        else if (this->closing())
            ec = cancelled();
        this->hard_close(); // also stops the handshake timer
        h(ec);
    }

    void connect(connect_handler h)
    {
        auto connected = [self = self(), h = std::move(h)](std::error_code ec) mutable {
            if (ec)
                return h(ec);
            // TLS and the upgrade share one deadline.
            self->arm_handshake_deadline();
            if constexpr (tls)
                self->tls_handshake(std::move(h));
            else
                self->upgrade(std::move(h));
        };
        tcp::detail::resolve_and_connect(resolver_, this->lowest_layer(), host_, port_, true,
                                         [self = self()] { return self->closing(); },
                                         std::move(connected));
    }

    void tls_handshake(connect_handler h)
        requires(tls)
    {
        this->stream().async_handshake(
            asio::ssl::stream_base::client,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec) mutable {
                if (ec || self->closing() || self->handshake_timed_out())
                    return self->fail_connect(
                        h, ec ? tcp::detail::handshake_error(ec, self->stream().native_handle())
                              : cancelled());
                self->upgrade(std::move(h));
            });
    }

    void upgrade(connect_handler h)
    {
        websocket::detail::make_sec_ws_key(key_);
        const bool v6 = host_.find(':') != std::string::npos; // an IPv6 literal
        request_.emplace(http::verb::get, path_, 11);
        request_->set(http::field::host, (v6 ? "[" + host_ + "]" : host_) + ":" + port_);
        request_->set(http::field::upgrade, "websocket");
        request_->set(http::field::connection, "Upgrade");
        request_->set(http::field::sec_websocket_key, key_);
        request_->set(http::field::sec_websocket_version, "13");
        request_->set(http::field::sec_websocket_protocol,
                      beast::string_view(detail::batch_subprotocol.data(),
                                         detail::batch_subprotocol.size()));
        request_->set(http::field::user_agent, "mailroom");
        if (!token_.empty())
            request_->set(http::field::authorization, "Bearer " + token_);
        http::async_write(this->http_stream(), *request_,
                          [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                                            std::size_t) mutable {
                              if (ec || self->closing())
                                  return self->fail_connect(h, mailroom::detail::to_std_error(ec));
                              self->read_response(std::move(h));
                          });
    }

    void read_response(connect_handler h)
    {
        http_buffer_.emplace(4u << 10);
        response_.emplace();
        response_->header_limit(8u << 10);
        response_->body_limit(64u << 10);
        http::async_read(this->http_stream(), *http_buffer_, *response_,
                         [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                                           std::size_t) mutable {
                             self->on_response(ec, std::move(h));
                         });
    }

    void on_response(const boost::system::error_code& ec, connect_handler h)
    {
        if (this->closing() || !response_->is_header_done())
            return fail_connect(h, mailroom::detail::to_std_error(ec));
        const auto& res = response_->get();
        // A refusal is known from its status line, even if its body did not arrive whole.
        if (res.result_int() != 101)
            return fail_connect(h, refusal(res.result_int()));
        if (ec)
            return fail_connect(h, mailroom::detail::to_std_error(ec));
        websocket::detail::sec_ws_accept_type expected;
        websocket::detail::make_sec_ws_accept(expected, key_);
        const auto protocol = view(res[http::field::sec_websocket_protocol]);
        if (!beast::iequals(res[http::field::upgrade], "websocket") ||
            !http::token_list(res[http::field::connection]).exists("upgrade") ||
            view(res[http::field::sec_websocket_accept]) != view(expected) ||
            (!protocol.empty() && protocol != detail::batch_subprotocol))
            return fail_connect(h, ws_error::upgrade_refused);
        // The server speaks batches if it said so; an older one sends one body per message.
        const auto early = http_buffer_->cdata();
        this->enable_writes(!protocol.empty(),
                            {static_cast<const char*>(early.data()), early.size()});
        http_buffer_.reset();
        response_.reset();
        request_.reset();
        connected_ = true;
        h({});
        this->start(); // after the station heard of the link: the first bytes may close it
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
    resolver_type resolver_;
    websocket::detail::sec_ws_key_type key_;
    // The upgrade's HTTP; released once the WebSocket is open.
    std::optional<http::request<http::empty_body>> request_;
    std::optional<beast::flat_buffer> http_buffer_;
    std::optional<http::response_parser<http::string_body>> response_;
    bool connected_ = false; // strand only
    std::shared_ptr<tcp::detail::tls_context> tls_; // outlives the stream's SSL object
};

} // namespace

mailbox_factory make_mailbox_factory(client_options options)
{
    auto contexts = std::make_shared<tcp::detail::client_context_cache>();
    return [options, contexts](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        const auto o = detail::client_options_for(ctx.server, options);
        std::shared_ptr<tcp::detail::tls_context> tls_ctx;
        if (o.tls.enabled) {
            std::error_code ec;
            tls_ctx = contexts->get(o.tls, ec);
            if (!tls_ctx)
                return std::make_shared<tcp::detail::failed_mailbox>(ctx.executor, ec);
        }
        return detail::with_strand(ctx.executor, [&](auto strand) -> std::shared_ptr<mailroom::mailbox> {
            using strand_type = decltype(strand);
            if (!tls_ctx)
                return std::make_shared<ws_mailbox<detail::basic_plain_stream<strand_type>>>(ctx, strand, o);
            return std::make_shared<ws_mailbox<detail::basic_tls_stream<strand_type>>>(ctx, strand, o,
                                                                                       tls_ctx);
        });
    };
}

} // namespace mailroom::ws
