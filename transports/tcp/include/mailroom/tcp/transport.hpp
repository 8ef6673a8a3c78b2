#pragma once

#include <mailroom/tcp/options.hpp>
#include <mailroom/transport.hpp>

namespace mailroom::tcp {

/** The TCP transport for an App: mail boxes with `client` options, and an acceptor that binds
    the `host` and `port` of the server's own servers.json entry with `server` options.

    @par Example
    @code
    app.add_transport("tcp", mailroom::tcp::make_transport());
    @endcode
*/
transport make_transport(stream_options client = {}, acceptor_options server = {});

} // namespace mailroom::tcp
