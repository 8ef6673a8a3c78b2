#pragma once

#include <mailroom/app/registry.hpp>
#include <mailroom/logger.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace mailroom::redis {

/// Options of @ref make_registry.
struct registry_options {
    /// The Redis the registry lives in (`redis://[:password@]host[:port][/db]`).
    std::string url = "redis://127.0.0.1:6379";
    /// Names the registry's keys, so that several clusters can share one Redis.
    std::string cluster = "mailroom";
    /// A member that stops renewing (killed, cut off) leaves peers' tables at most this long
    /// plus `resync_period` later. Renewed every third of it. Default 3 s.
    std::chrono::milliseconds lease_ttl{3000};
    /// How often the whole table is read again, whatever the events said: the bound on how
    /// long a missed event (a dropped subscription) can leave a table stale. Default 1 s.
    std::chrono::milliseconds resync_period{1000};
    /// Connect timeout and reconnect backoff bounds.
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds min_backoff{50};
    std::chrono::milliseconds max_backoff{1000};
    /// Where joins, leaves, fencing and lost links are reported.
    logger log{};
};

/** A @ref mailroom::registry in Redis (docs/membership.md, "The Redis registry").

    Members live in a sorted set scored by lease expiry (Redis's own clock, so members'
    clocks do not matter) and a hash of their entries; scripts register, renew, leave and
    list atomically. Joins and leaves are published on a channel every member subscribes
    to, and each member reads the whole table every `resync_period` as well. An expired
    member is removed by the first list that sees it, which publishes its leave.

    Epochs come from one counter (INCR), so a restarted server always has a larger epoch
    than its earlier incarnation, and a registration carrying an older epoch than the
    entry it would replace is refused: a stale incarnation (paused, cut off, then back)
    cannot take its id back.

    @par Example
    @code
    auto options = mailroom::app_options::from_args(argc, argv);
    options.registry = mailroom::redis::make_registry({.url = "redis://10.0.0.5:6379", .cluster = "game"});
    @endcode
*/
std::shared_ptr<mailroom::registry> make_registry(registry_options options = {});

} // namespace mailroom::redis
