#pragma once

#include <mailroom/logger.hpp>
#include <mailroom/tcp/tls.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mailroom::ws {

/** Settings of one WebSocket link, on either end.

    Keepalive uses WebSocket ping control frames, which the peer's WebSocket layer answers
    with a pong whatever its application is doing (this end answers the peer's pings too).
    Liveness is any bytes received (pings, pongs and parts of a message included), with the
    TCP transport's rules (docs/protocol.md, section 9): after `keepalive_interval` of silence
    the link sends a ping, after `keepalive_timeout` of silence it closes with
    `keepalive_timeout`. The check runs every `keepalive_interval` (or half the timeout).
    This is the link's own timer, not Beast's `stream_base::timeout` idle timer: Beast's
    counts pings received as silence unless it sends pings of its own at half the timeout.
*/
struct stream_options {
    /// Send a ping after this much silence from the peer; 0 disables pings. Default: 10 s on a
    /// mail box; the acceptor side only answers pings.
    std::chrono::milliseconds keepalive_interval{10'000};
    /// Close a link that received nothing for this long; 0 disables. Default: 30 s.
    std::chrono::milliseconds keepalive_timeout{30'000};
    /** A ping unanswered this long marks the link stalled: the station puts no new call on
        it (they fail at once with `not_sent`, so a failover policy moves them) and routers
        count the server as down, until the peer's next bytes arrive or the link closes;
        0: never.
        Default: 3 s (a mail box setting).
    */
    std::chrono::milliseconds keepalive_stall{3'000};
    /// Time allowed for the opening handshake (TLS, HTTP upgrade) and for a close (the
    /// queued frames, the close frame, the peer's answer); must be positive. Default: 10 s.
    std::chrono::milliseconds handshake_timeout{10'000};
    /// Bytes a link may hold in its write queue; more closes the link (the peer does not
    /// read). Default: 64 MiB.
    std::size_t max_write_queue_bytes = 64u << 20;
    /// Frames a link may hold in its write queue; more closes the link, as for bytes.
    /// Default: 65,536.
    std::size_t max_write_queue_frames = 65'536;
};

// Every member has a default member initialiser, so designated initialisers that name only
// some (`{.port = 0}`) build without -Wmissing-field-initializers warnings in users' code.

/// Settings of the WebSocket mail boxes of one factory. Per-server `ws_path`, `ws_token` and
/// `tls*` options in servers.json override `path`, `token` and `tls`.
struct client_options {
    /// Link settings. Default: pings after 10 s of silence, dead after 30 s.
    stream_options stream{};
    /// The HTTP path of the upgrade request. Default: "/".
    std::string path = "/";
    /// Sent as `Authorization: Bearer <token>` when not empty. Default: empty.
    std::string token{};
    /// TLS (`wss`). Default: off.
    tcp::tls_options tls{};
};

/// Settings of a WebSocket acceptor.
struct acceptor_options {
    /// Address to bind. Default: "127.0.0.1"; use "0.0.0.0" or "::" for every interface.
    std::string host = "127.0.0.1";
    /// Port to bind; 0 picks a free one (read it back with `acceptor::port()`). Default: 0.
    std::uint16_t port = 0;
    /// The only HTTP path upgraded; any other gets 404. Default: "/".
    std::string path = "/";
    /// When not empty, an upgrade request must carry `Authorization: Bearer <token>`; any
    /// other gets 401 and never reaches the server. Default: empty (no check).
    std::string token{};
    /// Largest frame body accepted, in bytes; a larger one closes the connection with close
    /// code 1009. A batch message may hold up to max(64 KiB, this + 4) bytes; a message with
    /// one body (a client without batches) up to this. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /** Data frames one message may take (a fragmented message: its first frame and its
        continuations; control frames between them do not count). More closes the connection
        with close code 1008 (`ws_error::unfinished_message`): a peer that opens a message and
        then sends only empty continuation frames would otherwise hold its link forever, since
        they add nothing to the message size. 0: no limit. Default: 1,024 (mailroom and
        browsers send one frame per message).
    */
    std::size_t max_message_frames = 1024;
    /// Time from a message's first frame to its last; longer closes the connection with
    /// close code 1008 (`ws_error::unfinished_message`). 0: no limit. Default: 30 s.
    std::chrono::milliseconds max_message_time{30'000};
    /// Per-connection settings. Default: no pings of its own; closes a client silent for 60 s
    /// (a live mail box pings every 10 s).
    stream_options stream{.keepalive_interval = std::chrono::milliseconds(0),
                          .keepalive_timeout = std::chrono::milliseconds(60'000)};
    /// TLS (`wss`; needs `cert_file` and `key_file`). Default: off.
    tcp::tls_options tls{};
    /** Connections open at once (from the accept until the connection is gone, upgrades
        included); a new one beyond it is closed at once, before any HTTP, counted in
        `acceptor::refused()`, and logged at most once per 10 s. 0: no limit.
        Default: 10,000.
    */
    std::size_t max_connections = 10'000;
    /// Where the acceptor logs refused connections. Default: warnings to stderr.
    logger log{};
};

} // namespace mailroom::ws
