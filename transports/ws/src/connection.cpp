#include "connection.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string_view>

namespace mailroom::ws::detail {
namespace {

namespace http = boost::beast::http;

std::string address_of(beast::tcp_stream& s)
{
    boost::system::error_code ec;
    auto ep = s.socket().remote_endpoint(ec);
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

} // namespace

template <class Stream>
ws_connection<Stream>::ws_connection(asio::ip::tcp::socket socket, const acceptor_options& options)
    requires std::is_same_v<Stream, plain_stream>
    : base(options.stream, options.max_frame_size, std::move(socket)), path_(options.path),
      token_(options.token)
{
    remote_ = address_of(this->lowest_layer());
}

template <class Stream>
ws_connection<Stream>::ws_connection(asio::ip::tcp::socket socket, const acceptor_options& options,
                                     std::shared_ptr<tcp::detail::tls_context> tls)
    requires std::is_same_v<Stream, tls_stream>
    : base(options.stream, options.max_frame_size, std::move(socket), *tls), path_(options.path),
      token_(options.token), tls_(std::move(tls))
{
    remote_ = address_of(this->lowest_layer());
}

template <class Stream>
void ws_connection<Stream>::upgrade(ready_handler ready)
{
    ready_ = std::move(ready);
    this->configure();
    boost::system::error_code ignored;
    this->lowest_layer().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    // TLS and the HTTP request share one deadline; Beast's own timeout covers the 101.
    this->lowest_layer().expires_after(this->options().handshake_timeout);
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        this->inner().async_handshake(
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
    parser_.emplace();
    parser_->header_limit(8u << 10);
    parser_->body_limit(0);
    http::async_read(this->inner(), http_buffer_, *parser_,
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
    const auto raw_target = req.target();
    std::string_view target(raw_target.data(), raw_target.size());
    if (auto q = target.find('?'); q != target.npos)
        target = target.substr(0, q);
    if (target != path_)
        return refuse(http::status::not_found, "no WebSocket endpoint at this path");
    const auto auth = req[http::field::authorization];
    if (!token_.empty() &&
        !same_secret(std::string_view(auth.data(), auth.size()), "Bearer " + token_))
        return refuse(http::status::unauthorized, "missing or wrong bearer token");
    this->lowest_layer().expires_never();
    this->ws().async_accept(req, [self = self()](const boost::system::error_code& ec) {
        if (ec || self->closing())
            return self->close_link(false);
        // Writable from now on: what the core sends (and a close that flushes) need not wait
        // for open(), which only attaches the handler and starts reading.
        self->enable_writes();
        auto ready = std::move(self->ready_);
        ready(self);
    });
}

template <class Stream>
void ws_connection<Stream>::refuse(http::status status, std::string why)
{
    refusal_.emplace(status, parser_->get().version());
    refusal_->set(http::field::server, "mailroom");
    refusal_->set(http::field::content_type, "text/plain");
    if (status == http::status::unauthorized)
        refusal_->set(http::field::www_authenticate, "Bearer");
    refusal_->keep_alive(false);
    refusal_->body() = std::move(why) + "\n";
    refusal_->prepare_payload();
    http::async_write(this->inner(), *refusal_,
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

template class ws_connection<plain_stream>;
template class ws_connection<tls_stream>;

} // namespace mailroom::ws::detail
