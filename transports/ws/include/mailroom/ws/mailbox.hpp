#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/ws/options.hpp>

namespace mailroom::ws {

/** The factory of WebSocket mail boxes, to register under the transport name "ws".

    Framing: one mailroom frame body (no length prefix) per binary WebSocket message
    (docs/protocol.md); a text message from the server closes the link with close code 1003.
    The mail box resolves `server_info::host`, connects to `server_info::port`, and sends
    `GET <path>` with an `Upgrade: websocket` request; the path and the bearer token come from
    the server's `ws_path` and `ws_token` options, else from `options`. A refused upgrade
    fails the connect with a @ref ws_error (401 is `unauthorized`). With TLS (the server's
    `tls*` options or `options.tls`, see `mailroom::tcp::tls_options`) the upgrade runs over a
    verified TLS link (`wss`).

    Frames sent while a write is in flight are queued and leave as separate messages, back to
    back, in order. Keepalive uses WebSocket pings (see @ref stream_options).

    @par Example
    @code
    station.add_transport("ws", mailroom::ws::make_mailbox_factory({.token = "s3cret"}));
    @endcode
*/
mailbox_factory make_mailbox_factory(client_options options = {});

} // namespace mailroom::ws
