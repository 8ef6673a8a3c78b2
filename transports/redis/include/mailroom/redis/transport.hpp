#pragma once

#include <mailroom/redis/options.hpp>
#include <mailroom/transport.hpp>

namespace mailroom::redis {

/** The Redis-queue transport for an App: a server entry with `"transport": "redis"` is
    addressed by its `id` alone, in the Redis its `redis_url` option names (default:
    `options.default_url`); it has no host or port of its own.

    The returned transport speaks @ref protocol() (the native messages, no hello, no pings).

    @par Example
    @code
    app.add_transport("redis", mailroom::redis::make_transport({.default_url = "redis://127.0.0.1:6379"}));
    @endcode
*/
transport make_transport(transport_options options = {});

} // namespace mailroom::redis
