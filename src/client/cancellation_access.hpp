#pragma once

#include <mailroom/client/call_options.hpp>

#include <cstdint>
#include <memory>

namespace mailroom::detail {

/// How the station attaches a call to a @ref cancellation.
struct cancellation_access {
    /** Registers call `id` of `target`: `cancel()` will call `target->cancel_call(id)`.
        Returns false if `c` is already cancelled (the caller completes the call itself).
    */
    static bool attach(cancellation& c, std::weak_ptr<cancel_target> target, std::uint64_t id);
};

} // namespace mailroom::detail
