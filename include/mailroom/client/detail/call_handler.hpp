#pragma once

#include <mailroom/detail/unique_function.hpp>
#include <mailroom/protocol/message.hpp>

#include <system_error>

namespace mailroom::detail {

/** The station's internal completion of one call.

    Invoked exactly once, on an I/O thread (or posted to the station's executor for errors
    found while initiating), never under a lock. `response` is non-null only when a response
    arrived; its views are valid during the call. The typed front end decodes the result
    there and hands it to the user's handler on its associated executor.
*/
using call_handler =
    unique_function<void(std::error_code, const protocol::response_view* response)>;

/// Completion of a notify (or of anything that only succeeds or fails).
using status_handler = unique_function<void(std::error_code)>;

} // namespace mailroom::detail
