#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/redis/options.hpp>

namespace mailroom::redis {

/** The client half of the Redis transport.

    A mail box for server `id` pushes each frame, wrapped in a request envelope (the reply
    list, the absolute deadline, the body; docs/redis-transport.md), onto `mailroom:{id}:q`
    in the Redis named by the server's `redis_url` option (or `default_url`). One queue entry
    per frame.

    Every mail box of one factory shares, per Redis, one command connection (frames sent
    together leave as one LPUSH with many values) and one blocking reader on the factory's
    reply list, which routes each reply to the mail box of the node that sent it. So a
    factory serves one mail station: node ids are unique within it.

    A server whose entry says `"redis_format": "crawlab"` (or any server, with
    `options.format == wire_format::crawlab`) is called in Crawlab's format instead: a call of
    a remote `(std::map<std::string, std::string>) -> std::string` becomes one JSON message on
    `<prefix>:<node>`, its reply is taken from `<prefix>:<node>:<id>`, and other signatures fail
    with `mailroom::error::not_encodable` (docs/redis-transport.md, "Crawlab mode"). An entry
    naming another format fails its connects with `error::bad_option`.

    `async_connect` completes once that connection is up; when Redis cannot be reached it
    fails at once with `error::unreachable` (a `condition::permanent` error, so the station
    fails the queued calls now), and so does every connect inside the reconnect backoff.
    When the connection to Redis is lost, every mail box reports `on_close`.

    On a Redis Cluster (a `redis+cluster://` URL) each push goes to the master of the node's
    slot and the reader blocks on the master of the reply list's slot; MOVED and ASK are
    followed (@ref cluster, docs/redis-transport.md "Redis Cluster").

    @par Thread safety
    The factory and the mail boxes may be used from any thread.

    @par Example
    @code
    station.add_transport("redis", mailroom::redis::make_mailbox_factory(), mailroom::redis::protocol());
    @endcode
*/
mailbox_factory make_mailbox_factory(client_options options = {});

} // namespace mailroom::redis
