#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace mailroom {

/** Errors reported by mailroom, in the `"mailroom"` category.

    The numeric values travel on the wire in error responses, so they are
    append-only: a retired value stays as `unusedN` and is never reused.
    Decide on failure policy with @ref condition, never on single codes.
*/
enum class error {
    /// The router found no server for the call (empty server type, or the route function
    /// returned no id).
    no_target_server = 1,
    /// The mail box could not connect (and complete the handshake) within the connect timeout.
    connect_failed,
    /// The call got no response within its timeout. The handler may have run: retry only
    /// an idempotent call.
    timeout,
    /// The call was sent, then the link carrying it closed (or the server was removed and its
    /// grace period ended) before the response arrived: the outcome is unknown, the handler
    /// may have run. Retry only an idempotent call. A call that never left is `not_sent`.
    disconnected,
    /// The callee (or a filter on either end) refused the call because it is overloaded.
    server_busy,
    /// A bounded queue was full; the call was never sent.
    queue_full,
    /// The callee has no service of that name in that namespace.
    unknown_service,
    /// The service has no method of that name.
    unknown_method,
    /// The arguments did not convert to the method's parameter types.
    bad_arguments,
    /// The remote handler failed (threw); the response carries its message.
    remote_error,
    /// A frame was larger than the configured maximum frame size.
    frame_too_large,
    /// A frame could not be decoded, or arrived out of protocol order.
    protocol_error,
    /// The peer speaks an incompatible protocol version.
    version_mismatch,
    /// The call was cancelled: by its @ref cancellation, by a filter, or because the station
    /// closed. The one cancellation code of mailroom; it compares equal to
    /// `std::errc::operation_canceled` (what Asio's `operation_aborted` compares equal to).
    cancelled,
    /// No transport is registered under the server's transport name.
    unknown_transport,
    /// The server id is not in the station's server table.
    unknown_server,
    /// The response's result did not convert to the type the caller asked for.
    bad_result,
    /// The peer stopped answering keepalive pings.
    keepalive_timeout,
    /// The callee did not start the call because its deadline had already passed.
    deadline_exceeded,
    /// The callee is shutting down and takes no new calls; the handler did not run.
    shutting_down,
    /// The call never reached a mail box (queued while connecting, or its server was removed
    /// or replaced before it left): safe to retry, on any server.
    not_sent,
    /// The handshake reached a server with another id than the one called (an address that
    /// now belongs to another server); no call is sent on that link.
    wrong_server,
    /// A value of the call (an argument, or the result) has no form in the format of the
    /// protocol the server speaks: a type without JSON conversions called on a JSON protocol,
    /// say. A call that fails with it was never sent.
    not_encodable,
    /// A server closed a connection that had not completed the protocol's handshake within
    /// `server_options::handshake_timeout` (pings and stray bytes do not extend it).
    handshake_timeout,
    /// The peer did not prove that it knows the cluster secret (a wrong secret), or proved it
    /// wrongly: a server refused this client, or this client refused the server
    /// (docs/security.md). No call was sent on that link.
    auth_failed,
    /// The server requires authentication and this client has no cluster secret configured.
    /// No call was sent.
    auth_required,
    /// This client has a cluster secret but the server does not authenticate (it has none, or
    /// it predates authentication): the client refuses to send calls to a server that cannot
    /// prove the secret. No call was sent.
    auth_unavailable,
};

/** Broad classes of @ref error, for failure policies (failover, failfast, retry).

    `make_error_condition(condition::retryable) == ec` tells whether `ec` is worth retrying on
    another server.
*/
enum class condition {
    /// The call did not reach a handler; sending it again elsewhere is safe.
    retryable = 1,
    /// The callee or a queue is overloaded; back off.
    overloaded,
    /// The link went down after the call was sent: it may or may not have run (retry only
    /// an idempotent call).
    disconnected,
    /// The callee does not implement what was asked.
    unimplemented,
    /// Anything else: the call failed and retrying will not help.
    failed,
    /// No answer in time: the call may or may not have run (retry only an idempotent call,
    /// and only if the caller's own deadline allows).
    timed_out,
    /** A connect error that a retry will meet again (a refused credential or path, an
        untrusted certificate, another server at the address, a version mismatch, a refused
        authentication): the
        station fails the calls queued for that server at once (`connect_failed`, or the
        mailroom error itself) instead of retrying until `connect_timeout`.

        A transport declares one of its own error codes permanent by answering true for this
        condition in its category's `equivalent(int, const std::error_condition&)`; the core
        never needs the transport's headers. A code may be equivalent to this condition and
        to its `default_error_condition` (`retryable`, usually) at once.
    */
    permanent,
};

/// The category of @ref error, named `"mailroom"`.
const std::error_category& error_category() noexcept;

/// The category of @ref condition, named `"mailroom.condition"`.
const std::error_category& condition_category() noexcept;

inline std::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

inline std::error_condition make_error_condition(condition c) noexcept
{
    return {static_cast<int>(c), condition_category()};
}

} // namespace mailroom

template <>
struct std::is_error_code_enum<mailroom::error> : std::true_type {};

template <>
struct std::is_error_condition_enum<mailroom::condition> : std::true_type {};
