#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace mailroom::ws {

/** Errors of the WebSocket transport, in the `"mailroom.ws"` category.

    The upgrade refusals map to `mailroom::condition::retryable` (the call never reached a
    handler); `text_message`, `truncated_frame` and `unfinished_message` map to
    `mailroom::condition::failed`. `unauthorized`, `not_found` and `forbidden` are also
    equivalent to `mailroom::condition::permanent`: a mail station fails the calls queued for
    such a server at once rather than retrying until its `connect_timeout`. A mail station
    reports a refused upgrade to its callers as `mailroom::error::connect_failed` and logs
    this error's message ("... the server refused the WebSocket upgrade: 401 Unauthorized
    ..."). Values are part of the error reference (docs/protocol.md): new ones are appended.
*/
enum class ws_error {
    /// The server answered the upgrade request with an HTTP status other than 101, 401, 403
    /// and 404 (a 503 may heal: the station retries).
    upgrade_refused = 1,
    /// The server answered 401: the token (`ws_token`) is missing or wrong.
    unauthorized,
    /// The server answered 404: it upgrades another path (`ws_path`).
    not_found,
    /// A text message arrived; mailroom frames travel in binary messages only (the link is
    /// closed with close code 1003).
    text_message,
    /// A binary message of a link that carries batches (docs/protocol.md, section 1) ended
    /// inside a frame: a batch holds whole frames only (the link is closed with close code
    /// 1002).
    truncated_frame,
    /// A fragmented message took more data frames than `acceptor_options::max_message_frames`
    /// or longer than `max_message_time` (the link is closed with close code 1008).
    unfinished_message,
    /// The server answered 403: it refuses this client (a proxy's or the server's policy).
    forbidden,
};

/// The category of @ref ws_error, named `"mailroom.ws"`.
const std::error_category& ws_category() noexcept;

inline std::error_code make_error_code(ws_error e) noexcept
{
    return {static_cast<int>(e), ws_category()};
}

} // namespace mailroom::ws

template <>
struct std::is_error_code_enum<mailroom::ws::ws_error> : std::true_type {};
