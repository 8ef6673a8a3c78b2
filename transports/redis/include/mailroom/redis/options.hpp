#pragma once

#include <mailroom/logger.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace mailroom::redis {

/** What the transport puts in Redis (docs/redis-transport.md). Selected per server entry
    with `"redis_format"` (`"native"` or `"crawlab"`), else by the options.
*/
enum class wire_format {
    /// mailroom's queue: msgpack envelopes, processing lists, leases (at-least-once).
    native,
    /// Crawlab's RPC: JSON messages on `<prefix>:<node>`, replies on `<prefix>:<node>:<id>`.
    crawlab,
};

/// Crawlab mode's settings (both halves); a server entry's `"redis_prefix"` overrides `prefix`.
struct crawlab_options {
    /// The first part of every key. Crawlab's code uses `rpc`, its documentation `nodes`.
    std::string prefix = "rpc";
    /// The service a bare Crawlab method name (no dot) belongs to: `"GetSystemInfo"` is
    /// `user.<service>.GetSystemInfo`. Default `crawlab`.
    std::string service = "crawlab";
    /// Caller: most calls waiting for a reply per Redis; more fail at once with
    /// `mailroom::error::queue_full`. Default 1024.
    std::size_t max_in_flight = 1024;
    /// Caller: how long a call without a timeout, or a notify, watches its reply key.
    /// Default 60 s.
    std::chrono::milliseconds reply_wait{60000};
};

/// The client half: mail boxes that push calls onto nodes' request lists.
struct client_options {
    /// Redis of a server whose entry has no `redis_url` option (`redis://...`, or
    /// `redis+cluster://...` for a Redis Cluster, see @ref cluster). Default: local Redis.
    std::string default_url = "redis://127.0.0.1:6379";
    /// Names this process's reply list (`mailroom:{instance}:r`). Default: a random id.
    std::string instance{};
    /// TCP connect timeout to Redis. Default 2 s.
    std::chrono::milliseconds connect_timeout{2000};
    /// First wait after a failed connect before another is tried; calls made meanwhile
    /// fail at once with `error::unreachable`. Doubles up to `max_backoff`. Default 50 ms.
    std::chrono::milliseconds min_backoff{50};
    /// Longest wait between connect attempts. Default 1 s.
    std::chrono::milliseconds max_backoff{1000};
    /// Most replies taken from the reply list per round trip. Default 256.
    std::size_t max_replies_per_read = 256;
    /// Wire format of a server entry without a `"redis_format"` option. Default native.
    wire_format format = wire_format::native;
    /// Crawlab mode's keys and method names.
    crawlab_options crawlab{};
};

/// The server half: one node's request list.
struct acceptor_options {
    /// The Redis the node's lists live in (`redis://...`, or `redis+cluster://...` for a Redis
    /// Cluster, see @ref cluster). Default: local Redis.
    std::string url = "redis://127.0.0.1:6379";
    /// The node id callers address (the servers.json `id`). Required.
    std::string node_id{};
    /// This incarnation's id (processing list and lease). Default: a random id.
    std::string instance{};
    /// Largest request body accepted; larger requests are answered by nobody and removed.
    /// Default 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// What the bodies are (decoded for request ids only). Null: @ref protocol().
    std::shared_ptr<const wire_protocol> protocol{};
    /// The lease's time to live, renewed every third of it; a dead incarnation's requests
    /// are requeued once its lease expired. Default 5 s.
    std::chrono::milliseconds lease_ttl{5000};
    /// Replies not read within this time expire with their reply list. Default 60 s.
    std::chrono::milliseconds reply_ttl{60000};
    /// A caller's virtual connection idle this long (and with no call in progress) closes.
    /// Default 60 s.
    std::chrono::milliseconds idle_timeout{60000};
    /// Connect timeout and reconnect backoff bounds (as in @ref client_options).
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds min_backoff{50};
    std::chrono::milliseconds max_backoff{1000};
    /// Where dropped requests (deadline passed, malformed) are reported.
    logger log{};
    /// Wire format. Default native.
    wire_format format = wire_format::native;
    /// Crawlab mode's keys and method names (`reply_ttl` applies to its reply keys).
    crawlab_options crawlab{};
    /// Blocking takes (BLMOVE) kept pipelined on the node's connection: with N, a burst of
    /// requests is taken in one round trip to Redis instead of N, and this incarnation holds
    /// up to N requests taken and not yet answered (in its processing list, so they are
    /// requeued if it dies). 0 counts as 1. Default 1: one request per round trip.
    unsigned take_depth = 1;
};

/// Both halves, for an App (@ref make_transport).
struct transport_options {
    /// Redis of a servers.json entry without a `redis_url` option (both halves).
    std::string default_url = "redis://127.0.0.1:6379";
    client_options client{};
    /// `url` and `node_id` are taken from the server's own entry.
    acceptor_options server{};
};

} // namespace mailroom::redis
