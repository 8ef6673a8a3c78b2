#pragma once

#include <mailroom/logger.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/tcp/tls.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mailroom::tcp {

/// Settings of one TCP link, on either end.
struct stream_options {
    /// Disable Nagle's algorithm (TCP_NODELAY). Default: true. pomelo-rpc never sets it and
    /// pays ~40 ms per small call in delayed ACKs.
    bool no_delay = true;
    /// Send a ping after this much silence from the peer; 0 disables pings. Default: 10 s on a
    /// mail box; the acceptor side only answers pings.
    std::chrono::milliseconds keepalive_interval{10'000};
    /// Close a link that received nothing for this long (`keepalive_timeout`); 0 disables.
    /// Default: 30 s.
    std::chrono::milliseconds keepalive_timeout{30'000};
    /** A ping unanswered this long marks the link stalled: the station puts no new call on
        it (they fail at once with `not_sent`, so a failover policy moves them) and routers
        count the server as down, until a frame arrives or the link closes; 0: never.
        Default: 3 s (a mail box setting).
    */
    std::chrono::milliseconds keepalive_stall{3'000};
    /// Bytes a link may hold in its write queue; more closes the link (the peer does not
    /// read). Default: 64 MiB.
    std::size_t max_write_queue_bytes = 64u << 20;
    /// Frames a link may hold in its write queue; more closes the link, as for bytes.
    /// Default: 65,536.
    std::size_t max_write_queue_frames = 65'536;
    /// Largest read, in bytes: the read buffer grows up to this size while reads fill it
    /// (under load), and beyond it only to hold one frame larger than it (up to the frame
    /// size limit). Default: 64 KiB.
    std::size_t read_size = 64u << 10;
    /// The read buffer's size on a new link, and the size it returns to once the link is
    /// quiet (the buffer is empty and reads are small again, or a keepalive period passed
    /// with every read fitting in it). This is what an idle link holds for reading; at most
    /// `read_size`. Default: 4 KiB.
    std::size_t initial_read_size = 4u << 10;
};

/// Settings of a TCP acceptor.
struct acceptor_options {
    /// Address to bind. Default: "127.0.0.1"; use "0.0.0.0" or "::" for every interface.
    std::string host = "127.0.0.1";
    /// Port to bind; 0 picks a free one (read it back with `acceptor::port()`). Default: 0.
    std::uint16_t port = 0;
    /// Largest message body accepted, in bytes. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// Per-connection settings. Default: no pings of its own; closes a client silent for 60 s
    /// (a live mail box pings every 10 s).
    stream_options stream{.keepalive_interval = std::chrono::milliseconds(0),
                          .keepalive_timeout = std::chrono::milliseconds(60'000)};
    /// TLS for every connection (needs `cert_file` and `key_file`). Default: off.
    tls_options tls{};
    /// Time a connection has to complete its TLS handshake before it is dropped; only with
    /// TLS. Default: 10 s.
    std::chrono::milliseconds handshake_timeout{10'000};
    /// The protocol its connections speak, for their keepalive pings and pongs (pass the
    /// same one to `server::listen`). Default (null): the native one.
    std::shared_ptr<const wire_protocol> protocol{};
    /** Connections open at once (from the accept until the connection is gone, TLS
        handshakes included); a new one beyond it is closed at once, counted in
        `acceptor::refused()`, and logged at most once per 10 s. 0: no limit.
        Default: 10,000.
    */
    std::size_t max_connections = 10'000;
    /// Where the acceptor logs refused connections. Default: warnings to stderr.
    logger log{};
};

} // namespace mailroom::tcp
