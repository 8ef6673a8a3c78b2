#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/pomelo/options.hpp>

namespace mailroom::pomelo {

/** Mail boxes that call stock pomelo-rpc 1.0.7 servers (the `mqtt` acceptor, pomelo's
    default): one TCP connection per server, a CONNECT first (no CONNACK is awaited, as the
    stock client awaits none), each call a PUBLISH on topic `rpc`, PINGREQ every
    `keepalive_interval`. Register it with @ref make_protocol, which encodes the calls.

    The mail station gives it what pomelo-rpc's mail station gives its mail boxes: lazy
    connect, ids, per-call timeouts, the bounded queue while connecting. Unlike the stock
    client, a connection the server closes fails the calls in flight at once
    (`error::disconnected`) instead of leaving them to their timeout.

    A servers.json entry may set `"bufferMsg": true` to batch that server's calls
    (`link_options::batch`), whatever `options.batch` says.

    @par Thread safety
    The factory may be called from any thread.

    @par Example
    @code
    station.add_transport("pomelo", mailroom::pomelo::make_mailbox_factory(),
                          mailroom::pomelo::make_protocol());
    @endcode
*/
mailbox_factory make_mailbox_factory(link_options options = {});

} // namespace mailroom::pomelo
