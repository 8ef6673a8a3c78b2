#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/ws/options.hpp>

#include <cstdint>
#include <memory>

namespace mailroom::ws {

/** A WebSocket acceptor (Boost.Beast's `websocket::stream` over `beast::tcp_stream`, or TLS
    over it): listens on `host:port` and upgrades `GET <path>` requests that carry the
    configured token. A request for another path gets 404, a missing or wrong token 401,
    anything that is not a WebSocket upgrade, or whose `Sec-WebSocket-Key` is missing,
    repeated or not 16 bytes in base64, 400; those connections get the HTTP answer, are
    closed, and the server never sees them. Upgraded connections carry batches of
    length-prefixed frames per binary message when the client offers the `mailroom.batch`
    subprotocol (a mailroom mail box does), else one frame body per message (docs/protocol.md,
    section 1.1). A text message closes that connection with close code 1003, a frame above
    `max_frame_size` (or a message above the limit) with 1009, a batch that ends inside a
    frame or any other RFC 6455 violation with 1002, a fragmented message beyond
    `max_message_frames` or `max_message_time` with 1008. Each connection runs on its own
    strand of the executor.

    @par Thread safety
    All member functions may be called from any thread.

    @par Example
    @code
    auto acc = mailroom::ws::make_acceptor(ioc.get_executor(), {.path = "/rpc", .token = "s3cret"});
    server.listen(acc);
    std::uint16_t port = acc->port();
    @endcode
*/
class acceptor : public mailroom::acceptor {
public:
    /// The bound port (after `start`), useful when bound to port 0.
    virtual std::uint16_t port() const = 0;
    /// Connections refused so far because `max_connections` were open.
    virtual std::uint64_t refused() const = 0;
    /// Accepted connections that still exist (counted against `max_connections`).
    virtual std::size_t open_connections() const = 0;
};

/// Creates a WebSocket acceptor; it binds when the server starts it.
std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options = {});

} // namespace mailroom::ws
