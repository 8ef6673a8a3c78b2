#include "connection.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string_view>

namespace mailroom::ws::detail {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

template <class Socket>
std::string address_of(Socket& s)
{
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec)
        return "unknown";
    auto addr = ep.address();
    std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    return host + ":" + std::to_string(ep.port());
}

/// Compares in time independent of where the strings differ: the token is a secret.
bool same_secret(std::string_view given, std::string_view expected)
{
    unsigned char diff = given.size() != expected.size();
    for (std::size_t i = 0; i < expected.size(); ++i)
        diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ expected[i]);
    return diff == 0;
}

std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }

} // namespace

template <class Stream>
ws_connection<Stream>::ws_connection(tcp_socket_type socket, const acceptor_options& options)
    requires(!is_tls_v<Stream>)
    : base(ws_role::server, options.stream, options.max_frame_size, std::move(socket)),
      path_(options.path), token_(options.token)
{
    remote_ = address_of(this->lowest_layer());
}

template <class Stream>
ws_connection<Stream>::ws_connection(tcp_socket_type socket, const acceptor_options& options,
                                     std::shared_ptr<tcp::detail::tls_context> tls)
    requires(is_tls_v<Stream>)
    : base(ws_role::server, options.stream, options.max_frame_size, std::move(socket), *tls),
      path_(options.path), token_(options.token), tls_(std::move(tls))
{
    remote_ = address_of(this->lowest_layer());
}

template <class Stream>
void ws_connection<Stream>::upgrade(ready_handler ready)
{
    ready_ = std::move(ready);
    boost::system::error_code ignored;
    this->lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
    // TLS, the HTTP request and the 101 share one deadline.
    this->arm_handshake_deadline();
    if constexpr (is_tls_v<Stream>) {
        this->stream().async_handshake(
            asio::ssl::stream_base::server, [self = self()](const boost::system::error_code& ec) {
                if (ec || self->closing())
                    return self->close_link(false);
                self->read_request();
            });
    } else {
        read_request();
    }
}

template <class Stream>
void ws_connection<Stream>::read_request()
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

template <class Stream>
void ws_connection<Stream>::on_request(const boost::system::error_code& ec)
{
    if (ec || this->closing())
        return this->close_link(false);
    const auto& req = parser_->get();
    if (!websocket::is_upgrade(req))
        return refuse(http::status::bad_request, "expected a WebSocket upgrade request");
    const auto key = view(req[http::field::sec_websocket_key]);
    if (key.empty() || key.size() > websocket::detail::sec_ws_key_type::max_size_n)
        return refuse(http::status::bad_request, "missing or malformed Sec-WebSocket-Key");
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
    bool batch = false;
    for (const auto& p : http::token_list(req[http::field::sec_websocket_protocol]))
        batch = batch || view(p) == batch_subprotocol;
    accept(key, batch);
}

template <class Stream>
void ws_connection<Stream>::accept(std::string_view key, bool batch)
{
    websocket::detail::sec_ws_accept_type accept;
    websocket::detail::make_sec_ws_accept(accept, {key.data(), key.size()});
    response_.emplace(http::status::switching_protocols, parser_->get().version());
    response_->set(http::field::server, "mailroom");
    response_->set(http::field::upgrade, "websocket");
    response_->set(http::field::connection, "Upgrade");
    response_->set(http::field::sec_websocket_accept, accept);
    if (batch)
        response_->set(http::field::sec_websocket_protocol,
                       boost::beast::string_view(batch_subprotocol.data(), batch_subprotocol.size()));
    http::async_write(
        this->http_stream(), *response_,
        [self = self(), batch](const boost::system::error_code& ec, std::size_t) {
            if (ec || self->closing())
                return self->close_link(false);
            // Writable from now on: what the core sends (and a close that flushes) need not
            // wait for open(), which only attaches the handler and starts reading. Bytes the
            // client sent right behind its request are the start of its first message.
            const auto early = self->http_buffer_->cdata();
            self->enable_writes(batch, {static_cast<const char*>(early.data()), early.size()});
            self->http_buffer_.reset();
            self->parser_.reset();
            self->response_.reset();
            auto ready = std::move(self->ready_);
            ready(self);
        });
}

template <class Stream>
void ws_connection<Stream>::refuse(http::status status, std::string why)
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
    http::async_write(this->http_stream(), *response_,
                      [self = self()](const boost::system::error_code&, std::size_t) {
                          self->close_link(false);
                      });
}

template <class Stream>
void ws_connection<Stream>::open(std::shared_ptr<connection_handler> handler)
{
    ready_ = nullptr;
    if (this->finished()) // closed between the upgrade and now: the core still hears of it
        return handler->on_close(std::make_error_code(std::errc::operation_canceled));
    handler_ = std::move(handler);
    this->start();
}

template <class Stream>
void ws_connection<Stream>::closed(std::error_code ec, bool)
{
    ready_ = nullptr;
    // The session holds this connection; dropping the handler here breaks that cycle.
    if (auto h = std::move(handler_))
        h->on_close(ec);
}

template class ws_connection<basic_plain_stream<io_strand>>;
template class ws_connection<basic_tls_stream<io_strand>>;
template class ws_connection<basic_plain_stream<any_strand>>;
template class ws_connection<basic_tls_stream<any_strand>>;

} // namespace mailroom::ws::detail
