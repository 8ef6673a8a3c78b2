#pragma once

#include <mailroom/transport.hpp>
#include <mailroom/ws/options.hpp>

namespace mailroom::ws {

/** The WebSocket transport for an App, registered as "ws": mail boxes with `client` options,
    and an acceptor that binds the `host` and `port` of the server's own servers.json entry
    with `server` options. The entry's `ws_path` and `ws_token` override the path and token on
    both ends, its `tls*` keys turn on TLS (see `mailroom::tcp::tls_options`):

    @code
    { "id": "chat-1", "host": "127.0.0.1", "port": 3250, "transport": "ws",
      "ws_path": "/rpc", "ws_token": "s3cret" }
    @endcode

    @par Example
    @code
    app.add_transport("ws", mailroom::ws::make_transport());
    @endcode
*/
transport make_transport(client_options client = {}, acceptor_options server = {});

} // namespace mailroom::ws
