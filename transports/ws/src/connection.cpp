#include "connection.hpp"

#include <mailroom/tcp/listen.hpp>

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <string_view>

namespace mailroom::ws::detail {
namespace {

namespace http = boost::beast::http;

/// Compares in time independent of where the strings differ: the token is a secret.
bool same_secret(std::string_view given, std::string_view expected)
{
    unsigned char diff = given.size() != expected.size();
    for (std::size_t i = 0; i < expected.size(); ++i)
        diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ expected[i]);
    return diff == 0;
}

std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool is_base64(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

} // namespace

bool valid_websocket_key(std::string_view key) noexcept
{
    if (key.size() != 24 || key.substr(22) != "==")
        return false;
    for (std::size_t i = 0; i < 22; ++i)
        if (!is_base64(key[i]))
            return false;
    // The last character holds 2 bits of the 16th byte and 4 zero bits.
    return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

template <class Next>
ws_connection<Next>::ws_connection(strand_type strand, asio::ip::tcp::socket socket,
                                   const acceptor_options& options)
    requires(!base::tls)
    : base(std::move(strand), options.stream, options.max_frame_size, std::move(socket)),
      path_(options.path), token_(options.token), max_message_frames_(options.max_message_frames),
      max_message_time_(options.max_message_time)
{
    remote_ = tcp::peer_address(this->tcp().socket());
}

template <class Next>
ws_connection<Next>::ws_connection(strand_type strand, asio::ip::tcp::socket socket,
                                   const acceptor_options& options,
                                   std::shared_ptr<tcp::tls_context> tls)
    requires(base::tls)
    : base(std::move(strand), options.stream, options.max_frame_size, std::move(socket), *tls),
      path_(options.path), token_(options.token), max_message_frames_(options.max_message_frames),
      max_message_time_(options.max_message_time), tls_(std::move(tls))
{
    remote_ = tcp::peer_address(this->tcp().socket());
}

template <class Next>
void ws_connection<Next>::upgrade(ready_handler ready)
{
    ready_ = std::move(ready);
    boost::system::error_code ignored;
    this->tcp().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    // TLS, the HTTP request and the 101 share one deadline.
    this->tcp().expires_after(this->options().handshake_timeout);
    if constexpr (base::tls) {
        this->http_stream().async_handshake(
            asio::ssl::stream_base::server, [self = self()](const boost::system::error_code& ec) {
                if (ec || self->closing())
                    return self->close_link(false);
                self->read_request();
            });
    } else {
        read_request();
    }
}

template <class Next>
void ws_connection<Next>::read_request()
{
    http_buffer_.emplace(8u << 10);
    parser_.emplace();
    parser_->header_limit(8u << 10);
    parser_->body_limit(0);
    http::async_read(this->http_stream(), *http_buffer_, *parser_,
                     [self = self()](const boost::system::error_code& ec, std::size_t) {
                         self->on_request(ec);
                     });
}

template <class Next>
void ws_connection<Next>::on_request(const boost::system::error_code& ec)
{
    if (ec || this->closing())
        return this->close_link(false);
    const auto& req = parser_->get();
    if (!websocket::is_upgrade(req))
        return refuse(http::status::bad_request, "expected a WebSocket upgrade request");
    if (req.count(http::field::sec_websocket_key) != 1 ||
        !valid_websocket_key(view(req[http::field::sec_websocket_key])))
        return refuse(http::status::bad_request, "missing, malformed or repeated Sec-WebSocket-Key");
    if (view(req[http::field::sec_websocket_version]) != "13")
        return refuse(http::status::upgrade_required, "only WebSocket version 13 is spoken");
    auto target = view(req.target());
    if (auto q = target.find('?'); q != target.npos)
        target = target.substr(0, q);
    if (target != path_)
        return refuse(http::status::not_found, "no WebSocket endpoint at this path");
    const auto auth = view(req[http::field::authorization]);
    if (!token_.empty() && !same_secret(auth, "Bearer " + token_))
        return refuse(http::status::unauthorized, "missing or wrong bearer token");
    // A client waits for the 101 before it sends frames (RFC 6455, 4.1); bytes behind the
    // request would be lost to Beast, which starts reading afresh.
    if (http_buffer_->size() > 0)
        return refuse(http::status::bad_request, "data sent before the upgrade completed");
    bool batch = false;
    for (const auto& p : http::token_list(req[http::field::sec_websocket_protocol]))
        batch = batch || view(p) == batch_subprotocol;
    accept(batch);
}

template <class Next>
void ws_connection<Next>::accept(bool batch)
{
    this->ws().set_option(websocket::stream_base::decorator([batch](websocket::response_type& res) {
        res.set(http::field::server, "mailroom");
        if (batch)
            res.set(http::field::sec_websocket_protocol,
                    boost::beast::string_view(batch_subprotocol.data(), batch_subprotocol.size()));
    }));
    this->ws().async_accept(parser_->get(), [self = self(), batch](const boost::system::error_code& ec) {
        if (ec || self->closing())
            return self->close_link(false);
        // Writable from now on: what the core sends (and a close that flushes) need not wait
        // for open(), which only attaches the handler and starts reading.
        self->tcp().expires_never();
        self->enable(boost::beast::role_type::server, batch, self->max_message_frames_,
                     self->max_message_time_);
        self->http_buffer_.reset();
        self->parser_.reset();
        auto ready = std::move(self->ready_);
        ready(self);
    });
}

template <class Next>
void ws_connection<Next>::refuse(http::status status, std::string why)
{
    response_.emplace(status, parser_->get().version());
    response_->set(http::field::server, "mailroom");
    response_->set(http::field::content_type, "text/plain");
    if (status == http::status::unauthorized)
        response_->set(http::field::www_authenticate, "Bearer");
    if (status == http::status::upgrade_required)
        response_->set(http::field::sec_websocket_version, "13");
    response_->keep_alive(false);
    response_->body() = std::move(why) + "\n";
    response_->prepare_payload();
    // The refusal is written whole before the socket closes.
    http::async_write(this->http_stream(), *response_,
                      [self = self()](const boost::system::error_code&, std::size_t) {
                          self->close_link(false);
                      });
}

template <class Next>
void ws_connection<Next>::open(std::shared_ptr<connection_handler> handler)
{
    ready_ = nullptr;
    if (this->finished()) // closed between the upgrade and now: the core still hears of it
        return handler->on_close(std::make_error_code(std::errc::operation_canceled));
    handler_ = std::move(handler);
    this->expect_handshake(handler_->limits_before_handshake());
    this->start();
}

template <class Next>
void ws_connection<Next>::closed(std::error_code ec, bool)
{
    ready_ = nullptr;
    // The session holds this connection; dropping the handler here breaks that cycle.
    if (auto h = std::move(handler_))
        h->on_close(ec);
}

template class ws_connection<plain_layer>;
template class ws_connection<tls_layer>;

} // namespace mailroom::ws::detail
