#pragma once

#include "link.hpp"

#include <mailroom/server/acceptor.hpp>
#include <mailroom/tcp/accept_loop.hpp>
#include <mailroom/tcp/tls_context.hpp>
#include <mailroom/ws/options.hpp>

#include <boost/asio/ip/tcp.hpp>
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

namespace mailroom::ws::detail {

/// What the acceptor needs of a connection of either stream type.
class accepted_connection : public connection {
public:
    /// On the connection's strand: hands it to the core (attaches the handler, starts reading).
    virtual void open(std::shared_ptr<connection_handler> handler) = 0;
    /// Thread-safe: closes at once, without flushing (a connection still upgrading).
    virtual void abort() = 0;
    virtual const strand_type& strand() const noexcept = 0;
};

/** One accepted WebSocket connection: first the upgrade (TLS handshake; the HTTP request read
    with Beast's parser; the path, token and `Sec-WebSocket-Key` checks, refusals answered
    with an HTTP response; then Beast's `async_accept` with that request, agreeing to batches
    if the client offers them), then a @ref ws_link the core reads and writes through
    `mailroom::connection`. The whole upgrade must finish within `handshake_timeout` (the
    TCP stream's deadline). Refused or failed upgrades close the socket and never reach the
    core. Instantiated in connection.cpp for both stream types.
*/
template <class Next>
class ws_connection final : public accepted_connection, public ws_link<Next> {
    using base = ws_link<Next>;

public:
    using ready_handler = std::function<void(std::shared_ptr<accepted_connection>)>;

    ws_connection(strand_type strand, asio::ip::tcp::socket socket, const acceptor_options& options)
        requires(!base::tls);
    ws_connection(strand_type strand, asio::ip::tcp::socket socket, const acceptor_options& options,
                  std::shared_ptr<tcp::tls_context> tls)
        requires(base::tls);

    /// On the strand: performs the upgrade, then runs `ready(this)` on the strand. On failure
    /// or refusal the connection closes and `ready` is never called.
    void upgrade(ready_handler ready);

    void open(std::shared_ptr<connection_handler> handler) override;
    void abort() override { this->close_link(false); }
    const strand_type& strand() const noexcept override { return this->executor(); }

    /// Keeps `slot` (a place in the acceptor's connection limit) until destroyed.
    void hold(tcp::connection_slot slot) noexcept { slot_ = std::move(slot); }
    void send(frame f) override { this->send_frame(std::move(f)); }
    void handshake_done() override { this->handshake_complete(); }
    void close() override { this->close_link(true); }
    void close(std::error_code reason) override { this->close_link(true, reason); }
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
    void accept(bool batch);

    void deliver(std::span<const char> body) override { handler_->on_message(body); }
    void closed(std::error_code ec, bool local) override;

    std::string path_;
    std::string token_;
    std::size_t max_message_frames_;
    std::chrono::milliseconds max_message_time_;
    std::shared_ptr<connection_handler> handler_;
    std::string remote_;
    ready_handler ready_;
    // The upgrade's HTTP; released once the WebSocket is open.
    std::optional<boost::beast::flat_buffer> http_buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
    std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;
    std::shared_ptr<tcp::tls_context> tls_; // outlives the stream's SSL object
    tcp::connection_slot slot_;
};

/** Whether `key` is a valid `Sec-WebSocket-Key` (RFC 6455, 4.2.1): the base64 encoding of
    16 bytes, so 24 characters of the base64 alphabet ending in "==". Beast 1.74 checks only
    that it is not empty and not longer than 24.
*/
bool valid_websocket_key(std::string_view key) noexcept;

} // namespace mailroom::ws::detail
