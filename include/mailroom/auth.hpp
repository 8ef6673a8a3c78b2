#pragma once

#include <cstddef>
#include <string>

namespace mailroom {

/** Shared-secret authentication of the native handshake (docs/security.md).

    Every server and client of a cluster holds the same secret. When both ends have it, the
    handshake runs an HMAC-SHA256 challenge–response in both directions: the server proves it
    knows the secret before the client answers, the client proves it before any of its calls
    is dispatched, and the secret itself never crosses the wire. Each proof covers both ends'
    fresh random nonces and ids, so bytes captured from one link are worthless on another.
    It authenticates the link's opening; it does not encrypt or sign the calls that follow
    (use TLS for that).

    - A **server** with a secret refuses a peer that does not authenticate
      (`error::auth_required`) or proves a wrong secret (`error::auth_failed`); both are
      counted (`server::stats::auth_refused`) and logged at most once per peer address and
      `server_options::warning_limit` interval. With `required = false` it also accepts peers
      that do not offer authentication (a rolling introduction of the secret).
    - A **client** with a secret refuses a server that cannot prove it: `auth_failed` for a
      wrong proof, `auth_unavailable` for a server without a secret or one that predates
      authentication. A client without a secret sends the same hello as before
      authentication existed (protocol version 1).

    It applies to links whose protocol has an authenticating handshake
    (`wire_protocol::has_auth()`: the native protocol, over tcp, ws or any other transport);
    links of other protocols (the Redis queue, pomelo-rpc) are not affected.

    The secret is never logged, never sent, and never part of an error message.

    @par Example
    @code
    mailroom::server srv(ex, {.server_id = "chat-1",
                              .auth = mailroom::auth_from_environment()});
    mailroom::mail_station st(ex, {.client_id = "gate-1", .auth = {.secret = secret}});
    @endcode
*/
struct auth_options {
    /// The cluster's shared secret, as bytes; at least @ref min_auth_secret_size of them (32
    /// random bytes are best: the handshake can be guessed at offline from a captured link).
    /// Empty: this end does not authenticate. Default: empty.
    std::string secret{};
    /// Server only: refuse peers that do not offer authentication. false accepts them as well
    /// (while a secret is rolled out to every client); peers that offer it must still prove
    /// it. Default: true.
    bool required = true;

    /// Whether this end authenticates (it has a secret).
    bool enabled() const noexcept { return !secret.empty(); }
};

/// The shortest secret accepted: 16 bytes.
inline constexpr std::size_t min_auth_secret_size = 16;

/// The environment variable @ref auth_from_environment reads by default.
inline constexpr const char* cluster_secret_variable = "MAILROOM_CLUSTER_SECRET";

/** The options with the secret held by environment variable `name` (default
    `MAILROOM_CLUSTER_SECRET`); empty options (no authentication) if it is unset or empty.
    Throws std::invalid_argument, as @ref check_auth_options, for a secret too short.
*/
auth_options auth_from_environment(const char* name = cluster_secret_variable);

/** Throws std::invalid_argument if `o` has a secret shorter than @ref min_auth_secret_size
    (the message gives its length, never its bytes). Servers and stations check their options
    with it when they are made.
*/
void check_auth_options(const auth_options& o);

} // namespace mailroom
