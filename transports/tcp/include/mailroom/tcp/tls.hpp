#pragma once

#include <mailroom/server_info.hpp>

#include <string>
#include <system_error>
#include <type_traits>

namespace mailroom::tcp {

/** TLS settings of one end of a link (Asio SSL over Debian's OpenSSL). Off by default.

    Used by the TCP transport and by the WebSocket transport (`wss`). A server entry of
    servers.json turns TLS on for itself with these keys (all optional, all text):

    | key               | meaning                                                                 |
    |-------------------|-------------------------------------------------------------------------|
    | `tls`             | `true` / `false`; default: `true` when `tls_cert` is set, else `false`  |
    | `tls_cert`        | acceptor: PEM certificate chain file                                    |
    | `tls_key`         | acceptor: PEM private key file                                          |
    | `tls_ca`          | mail box: PEM file of the CAs trusted for this server; default: the system's store |
    | `tls_server_name` | mail box: name the certificate must carry; default: the entry's `host`  |
    | `tls_client_ca`   | acceptor: PEM file of the CAs whose client certificates it accepts; set, it requires one (mutual TLS) |
    | `tls_client_cert` | mail box: PEM certificate chain it presents to this server              |
    | `tls_client_key`  | mail box: PEM private key of `tls_client_cert`                          |

    The same entry is read by both ends: the server loads `tls_cert` and `tls_key`, every
    client of that server verifies it against `tls_ca`. With `tls_client_ca` (mutual TLS) the
    server also requires every client to present a certificate issued by one of those CAs; a
    client without one, or with another, is dropped during the TLS handshake, before the
    core sees the connection. Clients present `tls_client_cert` and `tls_client_key`, from
    the entry or from the transport's default `tls_options` (one certificate per process).

    @par Example
    @code
    { "id": "chat-1", "host": "127.0.0.1", "port": 3150,
      "tls_cert": "/etc/game/chat.pem", "tls_key": "/etc/game/chat.key", "tls_ca": "/etc/game/ca.pem" }
    @endcode
*/
struct tls_options {
    /// TLS on this link or acceptor. Default: false.
    bool enabled = false;
    /// Acceptor: PEM certificate chain file (required when enabled). Default: empty.
    std::string cert_file{};
    /// Acceptor: PEM private key file, unencrypted (required when enabled). Default: empty.
    std::string key_file{};
    /// Mail box: PEM file of trusted CAs; empty uses OpenSSL's default store. Default: empty.
    std::string ca_file{};
    /// Mail box: the name or IP address the server's certificate must match; empty uses the
    /// server's `host`. It is also sent as SNI when it is a name. Default: empty.
    std::string server_name{};
    /// Mail box: verify the server's certificate chain and name. Turning it off leaves the link
    /// open to interception; it exists for tests. Default: true.
    bool verify_peer = true;
    /// Acceptor: PEM file of the CAs that issue client certificates. Set, every client must
    /// present a certificate that chains to one of them (mutual TLS). Default: empty (none
    /// asked for).
    std::string client_ca_file{};
    /// Mail box: PEM certificate chain presented to servers that ask for one. Default: empty.
    std::string client_cert_file{};
    /// Mail box: PEM private key of `client_cert_file`, unencrypted. Default: empty.
    std::string client_key_file{};
};

/** The TLS settings for `server`: `defaults`, overridden by the `tls*` keys of its
    servers.json options (see @ref tls_options). Throws std::invalid_argument on a `tls`
    value other than true/false.
*/
tls_options tls_for(const server_info& server, tls_options defaults = {});

/** Errors of the TLS layer, in the `"mailroom.tls"` category. Each maps to
    `mailroom::condition::retryable` (the call never reached a handler).

    A mail station reports a link that could not be opened to its callers as
    `mailroom::error::connect_failed`, and logs the cause (this error's message) through its
    logger: "could not connect to chat-1 at 127.0.0.1:3150 (tcp): TLS: the server's
    certificate is not trusted ...".
*/
enum class tls_error {
    /// The TLS handshake failed for another reason (the peer does not speak TLS, no common
    /// protocol version or cipher, ...).
    handshake_failed = 1,
    /// The peer's certificate chain does not lead to a trusted CA (self-signed, unknown issuer).
    untrusted_certificate,
    /// The peer's certificate is not valid at this time (expired or not yet valid).
    expired_certificate,
    /// The peer's certificate does not carry the expected host name or address.
    name_mismatch,
    /// The certificate file (`tls_cert`) could not be loaded, or none was given.
    bad_certificate,
    /// The private key (`tls_key`) could not be loaded, does not match the certificate, or
    /// none was given.
    bad_private_key,
    /// The CA file (`tls_ca`, or `tls_client_ca` on an acceptor) could not be loaded.
    bad_ca_file,
    /// The server refused our client certificate, or wanted one and we presented none (mutual
    /// TLS: check `tls_client_cert` and the server's `tls_client_ca`).
    certificate_refused,
};

/// The category of @ref tls_error, named `"mailroom.tls"`.
const std::error_category& tls_category() noexcept;

inline std::error_code make_error_code(tls_error e) noexcept
{
    return {static_cast<int>(e), tls_category()};
}

} // namespace mailroom::tcp

template <>
struct std::is_error_code_enum<mailroom::tcp::tls_error> : std::true_type {};
