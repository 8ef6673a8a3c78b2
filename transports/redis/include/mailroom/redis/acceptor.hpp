#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/redis/options.hpp>
#include <mailroom/server/acceptor.hpp>

#include <memory>

namespace mailroom::redis {

/** The server half of the Redis transport: node `options.node_id` takes requests from
    `mailroom:{node}:q`.

    Each request is moved (BLMOVE) into this incarnation's processing list
    `mailroom:{node}:p:<instance>` and removed from it only after its reply was pushed onto
    the caller's reply list, so a request taken by an incarnation that dies is requeued once
    that incarnation's lease (`mailroom:{node}:lease:<instance>`, renewed every third of
    `lease_ttl`) expired: by the node's next incarnation or any live one. A request whose
    absolute deadline passed while it waited is removed without being run (and logged).

    The core sees one connection per caller (per reply list), created at its first request and
    closed after `idle_timeout` without calls; that connection's frames go to the caller's
    reply list, which expires `reply_ttl` after the last push.

    With `options.format == wire_format::crawlab` it is a Crawlab-style node instead: it takes
    Crawlab's JSON messages from `<crawlab.prefix>:<node>` and answers each on
    `<crawlab.prefix>:<node>:<id>`, at most once (docs/redis-transport.md, "Crawlab mode").

    On a Redis Cluster (a `redis+cluster://` URL) everything runs on the master of the node's
    slot, except the replies, which go to the master of each caller's slot; the request leaves
    the processing list once that push was acknowledged. MOVED and ASK are followed, and the
    blocking BLMOVE follows the slot to its new master (docs/redis-transport.md "Redis Cluster").

    `start` fails only for a malformed URL or an empty node id; an unreachable Redis is
    retried with a bounded backoff (calls wait in Redis meanwhile).

    @par Thread safety
    `close` may be called from any thread.

    @par Example
    @code
    srv.listen(mailroom::redis::make_acceptor(ioc.get_executor(), {.node_id = "chat-1"}),
               mailroom::redis::protocol());
    @endcode
*/
std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options);

} // namespace mailroom::redis
