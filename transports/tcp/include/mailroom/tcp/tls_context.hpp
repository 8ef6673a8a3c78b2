#pragma once

#include <mailroom/tcp/tls.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

namespace mailroom::tcp {

/** The OpenSSL context a TLS link is made from: mailroom's settings (TLS 1.2 or later, the
    certificate, key and trust of a @ref tls_options) applied to Asio's `ssl::context`. The
    TCP transport and the WebSocket transport (`wss`) build theirs here, so both accept and
    refuse the same certificates and report the same @ref tls_error.

    @par Thread safety
    The functions: any thread. A context, once made, may be shared by links on any thread
    (OpenSSL contexts are reference-counted and read-only after setup).

    @par Example
    @code
    std::error_code ec;
    auto ctx = mailroom::tcp::make_server_context({.cert_file = "c.pem", .key_file = "k.pem"}, ec);
    if (!ctx) log(ec.message()); // tls_error::bad_certificate or bad_private_key
    @endcode
*/
using tls_context = boost::asio::ssl::context;

/** A server context with the certificate chain and key of `o`, requiring client
    certificates issued by `o.client_ca_file` when it is set (mutual TLS). Returns null and
    sets `ec` (`tls_error::bad_certificate`, `tls_error::bad_private_key`,
    `tls_error::bad_ca_file`) if they do not load or match.
*/
std::shared_ptr<tls_context> make_server_context(const tls_options& o, std::error_code& ec);

/** A client context trusting `o.ca_file` (or the system's default store) when
    `o.verify_peer`, presenting `o.client_cert_file` and `o.client_key_file` when set; null
    and `ec` set (`tls_error::bad_ca_file`, `bad_certificate`, `bad_private_key`) if a file
    does not load.
*/
std::shared_ptr<tls_context> make_client_context(const tls_options& o, std::error_code& ec);

/** Prepares the client connection `ssl` to `host`: SNI (unless `host` is an address) and,
    with `o.verify_peer`, the name or address the certificate must match (`o.server_name`
    if set, else `host`). Call before the handshake.
*/
void prepare_client(SSL* ssl, const tls_options& o, const std::string& host);

/** The error to report for a failed client or server handshake `ec` on `ssl` (may be
    null): a @ref tls_error naming the reason (untrusted, expired, name mismatch, or
    `handshake_failed`), never a raw OpenSSL code; `operation_canceled` for an aborted one.
*/
std::error_code handshake_error(const boost::system::error_code& ec, SSL* ssl);

/** The error to report for a failed read on a TLS link (any error: a plain socket's too):
    `tls_error::certificate_refused` when the peer's alert says it refused our certificate or
    wanted one (with TLS 1.3 a client learns it on its first read, after its handshake
    completed), else `ec` as a std::error_code.
*/
std::error_code read_error(const boost::system::error_code& ec);

/** Client contexts shared by the mail boxes of one factory, one per distinct CA file,
    verification setting and client certificate: loading a CA bundle per connect would be
    wasteful.

    @par Thread safety
    Thread-safe (a mutex guards the cache; `get` may load a CA file under it).

    @par Example
    @code
    mailroom::tcp::client_context_cache cache;
    std::error_code ec;
    auto ctx = cache.get(options.tls, ec); // the same context for the same CA file
    @endcode
*/
class client_context_cache {
public:
    /// The context for `o` (made on first use); null and `ec` set if it cannot be made.
    std::shared_ptr<tls_context> get(const tls_options& o, std::error_code& ec);

private:
    std::mutex mu_;
    std::vector<std::pair<std::string, std::shared_ptr<tls_context>>> contexts_;
};

} // namespace mailroom::tcp
