#pragma once

#include <mailroom/server_info.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace mailroom {

/** A live membership source for an App (docs/membership.md): each server registers itself
    under a lease it renews, and every App learns the cluster from it as it changes.

    The interface is small on purpose, so that another store (etcd, Consul, a game's own
    master) fits behind it; `mailroom::redis::make_registry` is the one shipped.

    @par Thread safety
    `start` once, then `stop` once, from any thread; the listener runs on `ex`, one call at
    a time. Release it before the context of `ex` is destroyed (an App releases its own).
*/
class registry {
public:
    /// Gets the whole table (every live member, `self` included) each time it changes.
    using listener = std::function<void(std::vector<server_info> members)>;

    virtual ~registry() = default;

    /** Starts on `ex`: registers `self` (unless empty: a process that only calls) under a
        lease, with a fresh epoch larger than any earlier incarnation's, renews it, and
        watches the others. `on_change` gets the first table once it has been read.
    */
    virtual void start(boost::asio::any_io_executor ex, std::optional<server_info> self,
                       listener on_change) = 0;

    /// The epoch `self` was registered with; 0 before that, or without `self`.
    virtual std::uint64_t epoch() const = 0;

    /** Leaves: `self` is removed at once (peers drop it without waiting for its lease) and
        watching stops. Idempotent, non-blocking: a listener call may still run after it returns.
    */
    virtual void stop() = 0;
};

} // namespace mailroom
