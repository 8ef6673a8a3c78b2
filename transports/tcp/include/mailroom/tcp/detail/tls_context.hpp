#pragma once

// Private to mailroom's own transports (tcp, ws): undocumented and unstable.

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

namespace mailroom::tcp::detail {

using tls_context = boost::asio::ssl::context;

/// A server context with the certificate and key of `o`; null and `ec` set if they do not load.
std::shared_ptr<tls_context> make_server_context(const tls_options& o, std::error_code& ec);

/// A client context trusting `o.ca_file` (or the default store); null and `ec` set on failure.
std::shared_ptr<tls_context> make_client_context(const tls_options& o, std::error_code& ec);

/// Prepares a client connection: SNI and the name (or address) the certificate must match.
void prepare_client(SSL* ssl, const tls_options& o, const std::string& host);

/// The error to report for a failed handshake: a @ref tls_error, never a raw OpenSSL code.
std::error_code handshake_error(const boost::system::error_code& ec, SSL* ssl);

/** Client contexts shared by the mail boxes of one factory, one per distinct CA file and
    verification setting (loading a CA bundle per connect would be wasteful).
*/
class client_context_cache {
public:
    std::shared_ptr<tls_context> get(const tls_options& o, std::error_code& ec);

private:
    std::mutex mu_;
    std::vector<std::pair<std::string, std::shared_ptr<tls_context>>> contexts_;
};

} // namespace mailroom::tcp::detail
