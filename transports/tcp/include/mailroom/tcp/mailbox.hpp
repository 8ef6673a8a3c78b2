#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/tcp/options.hpp>
#include <mailroom/tcp/tls.hpp>

namespace mailroom::tcp {

/** The factory of TCP mail boxes, to register under the transport name "tcp".

    Framing: each message body is preceded by its length as a 4-byte big-endian integer
    (docs/protocol.md). The mail box resolves `server_info::host`, connects to
    `server_info::port`, sets TCP_NODELAY, and pings after `keepalive_interval` of silence;
    a server silent for `keepalive_timeout` is dead. Frames sent while a write is in flight
    leave together in the next write.

    TLS: off unless `tls.enabled` or the server's servers.json entry turns it on (`tls_for`
    merges the two; see @ref tls_options). With TLS, the server's certificate is verified
    against `tls_ca` and its host name; a failed handshake fails the connect with a
    @ref tls_error (the station logs it, and fails its calls with `connect_failed`).

    @par Example
    @code
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    @endcode
*/
mailbox_factory make_mailbox_factory(stream_options options = {}, tls_options tls = {});

} // namespace mailroom::tcp
