#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/ws/options.hpp>

namespace mailroom::ws {

/** The factory of WebSocket mail boxes, to register under the transport name "ws".

    The mail box (Boost.Beast's `websocket::stream` over `beast::tcp_stream`, or TLS over it)
    resolves `server_info::host`, connects to `server_info::port`, and sends `GET <path>` with
    an `Upgrade: websocket` request offering the `mailroom.batch` subprotocol; the path and
    the bearer token come from the server's `ws_path` and `ws_token` options, else from
    `options`. A refused upgrade fails the connect with a @ref ws_error (401
    is `unauthorized`). With TLS (the server's `tls*` options or `options.tls`, see
    `mailroom::tcp::tls_options`) the upgrade runs over a verified TLS link (`wss`).
    TLS and the upgrade must finish within `stream_options::handshake_timeout` of the TCP
    connect.

    Framing (docs/protocol.md, section 1.1): when the server agrees to `mailroom.batch` (a
    mailroom server does), each binary message carries a batch of length-prefixed frames: the
    frames sent while a write is in flight leave together, in order, in the next message (up
    to 64 KiB, more messages beyond). With a server that does not agree, one frame body per
    message. A text message from the server closes the link with close code 1003, a batch
    that ends inside a frame with 1002 (`ws_error::truncated_frame`). Keepalive uses WebSocket
    pings (see @ref stream_options).

    @par Example
    @code
    station.add_transport("ws", mailroom::ws::make_mailbox_factory({.token = "s3cret"}));
    @endcode
*/
mailbox_factory make_mailbox_factory(client_options options = {});

} // namespace mailroom::ws
