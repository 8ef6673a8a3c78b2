#pragma once

#include <mailroom/tcp/options.hpp>
#include <mailroom/transport.hpp>

namespace mailroom::tcp {

/** The TCP transport for an App: mail boxes with `client` options, and an acceptor that binds
    the `host` and `port` of the server's own servers.json entry with `server` options.

    TLS follows each entry's `tls*` keys (@ref tls_options): the acceptor of an entry with
    `tls_cert` and `tls_key` speaks TLS, and mail boxes to that entry verify it against its
    `tls_ca`. `server.tls` and `client_tls` are the defaults those keys override.

    Both halves speak `server.protocol` (null: the native protocol), which the returned
    transport names: length-prefixed frames carry whatever that protocol encodes.

    @par Example
    @code
    app.add_transport("tcp", mailroom::tcp::make_transport());
    @endcode
*/
transport make_transport(stream_options client = {}, acceptor_options server = {},
                         tls_options client_tls = {});

} // namespace mailroom::tcp
