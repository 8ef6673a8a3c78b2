#pragma once

// A Unix-domain-socket transport for mailroom, written against mailroom's public headers
// only (docs/writing-a-transport.md walks through it). Register it under the name "unix":
//
//     station.add_transport("unix", uds::make_mailbox_factory());
//     app.add_transport("unix", uds::make_transport());
//
// Addressing: the socket path is the server entry's "path" option; without one, its "host".
// servers.json still wants a "port" for every entry; this transport ignores it:
//
//     {"id": "area-1", "host": "localhost", "port": 1, "transport": "unix",
//      "path": "/run/game/area-1.sock"}
//
// Framing: the native length prefix (a 4-byte big-endian body length, then the body), as
// mailroom::protocol::frame_parser reads it. The bodies are whatever the transport's protocol
// encodes (mailroom::wire_protocol; the native one by default). Keepalive: that protocol's
// pings after `keepalive_interval` of silence; a peer silent for `keepalive_timeout` is dead.

#include <mailroom/client/mailbox.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server_info.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/transport.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace uds {

/// Settings of one Unix-socket link.
struct link_options {
    /// Send a ping after this much silence from the peer; 0 disables pings. Default: 10 s.
    std::chrono::milliseconds keepalive_interval{10'000};
    /// Close a link that received nothing for this long; 0 disables. Default: 30 s.
    std::chrono::milliseconds keepalive_timeout{30'000};
    /// Bytes a link may hold in its write queue; more closes the link. Default: 64 MiB.
    std::size_t max_write_queue_bytes = 64u << 20;
    /// Frames a link may hold in its write queue; more closes the link. Default: 65 536.
    std::size_t max_write_queue_frames = 65'536;
};

/// Settings of an acceptor.
struct acceptor_options {
    /// The socket file to create. A stale file (nothing listening) is replaced; a live one
    /// makes `start` fail with `address_in_use`. Removed again by `close`.
    std::string path;
    /// Largest message body accepted, in bytes. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// Per-connection settings. Default: no pings of its own; a client silent for 60 s is dead.
    link_options link{.keepalive_interval = std::chrono::milliseconds(0),
                      .keepalive_timeout = std::chrono::milliseconds(60'000)};
    /// The protocol its connections speak (pass the same one to `server::listen`). Default
    /// (null): the native one.
    std::shared_ptr<const mailroom::wire_protocol> protocol{};
};

/// The socket path of `server`: its "path" option, else its host.
std::string socket_path(const mailroom::server_info& server);

/// The client half: one mail box per server, connecting to `socket_path(server)`.
mailroom::mailbox_factory make_mailbox_factory(link_options options = {});

/// The server half, listening on `options.path`.
std::shared_ptr<mailroom::acceptor> make_acceptor(boost::asio::any_io_executor ex,
                                                  acceptor_options options);

/// Both halves for an App, speaking `server.protocol`; the acceptor listens on `socket_path`
/// of the App's own entry.
mailroom::transport make_transport(link_options client = {}, acceptor_options server = {});

} // namespace uds
