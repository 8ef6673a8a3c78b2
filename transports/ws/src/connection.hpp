#pragma once

#include "link.hpp"

#include <mailroom/server/acceptor.hpp>
#include <mailroom/tcp/detail/tls_context.hpp>
#include <mailroom/ws/options.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace mailroom::ws::detail {

/** One accepted WebSocket connection: first the upgrade (TLS handshake, the HTTP request,
    the path, token and WebSocket checks, the 101 answer, agreeing to batches if the client
    offers them), then a @ref ws_link the core reads and writes through `mailroom::connection`.
    The whole upgrade must finish within `handshake_timeout`. Refused or failed upgrades close
    the socket and never reach the core. Instantiated in connection.cpp for the four stream types.
*/
template <class Stream>
class ws_connection final : public connection, public ws_link<Stream> {
    using base = ws_link<Stream>;

public:
    using tcp_socket_type = typename base::tcp_socket_type;

    ws_connection(tcp_socket_type socket, const acceptor_options& options)
        requires(!is_tls_v<Stream>);
    ws_connection(tcp_socket_type socket, const acceptor_options& options,
                  std::shared_ptr<tcp::detail::tls_context> tls)
        requires(is_tls_v<Stream>);

    using ready_handler = std::function<void(std::shared_ptr<ws_connection>)>;

    /// On the strand: performs the upgrade, then runs `ready(this)` on the strand. On failure
    /// or refusal the connection closes and `ready` is never called.
    void upgrade(ready_handler ready);

    /// On the strand: attaches the core's handler and starts reading.
    void open(std::shared_ptr<connection_handler> handler);

    void send(frame f) override { this->send_frame(std::move(f)); }
    void close() override { this->close_link(true); }
    std::string remote_address() const override { return remote_; }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    std::shared_ptr<ws_connection> self()
    {
        return std::static_pointer_cast<ws_connection>(this->shared_from_this());
    }

    void read_request();
    void on_request(const boost::system::error_code& ec);
    void refuse(boost::beast::http::status status, std::string why);
    void accept(std::string_view key, bool batch);

    void deliver(std::span<const char> body) override { handler_->on_message(body); }
    void closed(std::error_code ec, bool local) override;

    std::string path_;
    std::string token_;
    std::shared_ptr<connection_handler> handler_;
    std::string remote_;
    ready_handler ready_;
    // The upgrade's HTTP; released once the WebSocket is open.
    std::optional<boost::beast::flat_buffer> http_buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
    std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;
    std::shared_ptr<tcp::detail::tls_context> tls_; // outlives the stream's SSL object
};

} // namespace mailroom::ws::detail
