#pragma once

#include <mailroom/pomelo/options.hpp>
#include <mailroom/transport.hpp>

namespace mailroom::pomelo {

/** The pomelo transport for an App: pomelo-rpc 1.0.7's own wire (MQTT 3.1.1 + JSON), so that
    C++ and Node pomelo servers call each other. Servers whose servers.json entry says
    `"transport": "pomelo"` are called with @ref make_mailbox_factory (`client` options), and
    this process, if its own entry says so, listens with @ref make_acceptor on its entry's
    host and port (`server` options). Both speak @ref make_protocol.

    @par Example
    @code
    app.add_transport("pomelo", mailroom::pomelo::make_transport());
    @endcode
*/
transport make_transport(link_options client = {}, acceptor_options server = {});

} // namespace mailroom::pomelo
