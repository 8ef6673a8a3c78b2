#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/tcp/options.hpp>

namespace mailroom::tcp {

/** The factory of TCP mail boxes, to register under the transport name "tcp".

    Framing: each message body is preceded by its length as a 4-byte big-endian integer
    (docs/protocol.md). The mail box resolves `server_info::host`, connects to
    `server_info::port`, sets TCP_NODELAY, and pings after `keepalive_interval` of silence;
    a server silent for `keepalive_timeout` is dead. Frames sent while a write is in flight
    leave together in the next write.

    @par Example
    @code
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    @endcode
*/
mailbox_factory make_mailbox_factory(stream_options options = {});

} // namespace mailroom::tcp
