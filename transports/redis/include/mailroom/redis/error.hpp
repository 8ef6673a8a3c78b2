#pragma once

#include <system_error>

namespace mailroom::redis {

/** The errors of the Redis transport, category `"mailroom.redis"`. Values are append-only.

    `unreachable`, `auth_failed`, `bad_url` and `bad_option` are equivalent to
    `mailroom::condition::permanent`: the station fails the calls queued for a server at once
    instead of retrying until its `connect_timeout`; the next call tries again.
*/
enum class error {
    /// Redis could not be reached (refused, timed out, or inside the reconnect backoff).
    unreachable = 1,
    /// The link to Redis went down.
    connection_lost,
    /// Redis refused AUTH or SELECT.
    auth_failed,
    /// A `redis://` URL that does not parse.
    bad_url,
    /// Redis sent bytes that are not RESP.
    protocol_error,
    /// Redis answered a command with an error reply.
    command_failed,
    /// A server entry's option this transport does not understand (a `redis_format` other
    /// than `native` or `crawlab`).
    bad_option,
};

/// The category of @ref error, named `"mailroom.redis"`.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace mailroom::redis

template <>
struct std::is_error_code_enum<mailroom::redis::error> : std::true_type {};
