#pragma once

#include <mailroom/logger.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mailroom::pomelo {

/// Settings of one MQTT link to or from a pomelo-rpc peer.
struct link_options {
    /// Largest MQTT packet body accepted, in bytes; a larger one closes the link
    /// (`error::frame_too_large`). Default: 64 MiB (stock peers have no limit).
    std::size_t max_packet_size = 64u << 20;
    /** Send each message written while the strand is busy in one PUBLISH whose payload is a
        JSON array, as pomelo-rpc's `bufferMsg` does (both stock sides accept it whatever
        their own setting). Unlike stock, nothing waits for a timer: a batch is what was sent
        before the link's strand got to write. Default: off.
    */
    bool batch = false;
    /// Disable Nagle's algorithm (TCP_NODELAY). Default: true.
    bool no_delay = true;
    /** Re-arm TCP_QUICKACK after every read (Linux), so this end acknowledges at once. The
        stock peers write each packet in several pieces without TCP_NODELAY; a delayed ACK
        then holds every piece after the first for ~40 ms. Default: true.
    */
    bool quick_ack = true;
    /// PINGREQ after this much silence (mail box only; pomelo-rpc's default 10 s); 0: never.
    std::chrono::milliseconds keepalive_interval{10'000};
    /** Close with `error::keepalive_timeout` after this much silence; 0: never. Default:
        30 s on a mail box (pomelo-rpc gives up after two unanswered intervals). An acceptor
        uses 0: a stock client does not notice a closed connection until it next pings.
    */
    std::chrono::milliseconds keepalive_timeout{30'000};
    /** A ping unanswered this long marks the link stalled: the station puts no new call on
        it (they fail at once with `not_sent`, so a failover policy moves them) and routers
        count the server as down, until a frame arrives or the link closes; 0: never.
        Default: 3 s (a mail box setting).
    */
    std::chrono::milliseconds keepalive_stall{3'000};
    /// Bytes a link may hold in its write queue; more closes it (`error::queue_full`).
    /// Default: 256 MiB.
    std::size_t max_write_queue_bytes = 256u << 20;
    /// Messages a link may hold in its write queue; more closes it. Default: 1,000,000.
    std::size_t max_write_queue_frames = 1'000'000;
};

/// Settings of a pomelo acceptor.
struct acceptor_options {
    /// Address to bind. Default: "127.0.0.1"; "0.0.0.0" or "::" for every interface.
    std::string host = "127.0.0.1";
    /// Port to bind; 0 picks a free one (read it back with `acceptor::port()`).
    std::uint16_t port = 0;
    /// Per-connection settings. Default: no pings, no idle timeout.
    link_options link{.keepalive_interval = std::chrono::milliseconds(0),
                      .keepalive_timeout = std::chrono::milliseconds(0)};
    /// Connections open at once; a new one beyond it is closed at once. 0: no limit.
    /// Default: 10,000.
    std::size_t max_connections = 10'000;
    /// Where the acceptor logs refused connections. Default: warnings to stderr.
    logger log{};
};

} // namespace mailroom::pomelo
