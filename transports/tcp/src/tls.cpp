#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/tcp/tls_context.hpp>
#include <mailroom/tcp/tls.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include <stdexcept>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace mailroom::tcp {
namespace {

class tls_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailroom.tls"; }

    std::string message(int ev) const override
    {
        switch (static_cast<tls_error>(ev)) {
        case tls_error::handshake_failed:
            return "TLS handshake failed (does the peer speak TLS?)";
        case tls_error::untrusted_certificate:
            return "TLS: the server's certificate is not trusted (unknown or self-signed issuer; "
                   "check tls_ca)";
        case tls_error::expired_certificate:
            return "TLS: the server's certificate has expired or is not valid yet";
        case tls_error::name_mismatch:
            return "TLS: the server's certificate does not match its host name (check "
                   "tls_server_name)";
        case tls_error::bad_certificate:
            return "TLS: cannot load the certificate (tls_cert)";
        case tls_error::bad_private_key:
            return "TLS: cannot load the private key (tls_key), or it does not match the "
                   "certificate";
        case tls_error::bad_ca_file:
            return "TLS: cannot load the CA file (tls_ca, or tls_client_ca on a server)";
        case tls_error::certificate_refused:
            return "TLS: the server refused our client certificate, or we presented none "
                   "(check tls_client_cert and the server's tls_client_ca)";
        }
        return "TLS: unknown error";
    }

    std::error_condition default_error_condition(int) const noexcept override
    {
        return condition::retryable;
    }

    // Every code but handshake_failed (a server still starting, say) names a certificate or
    // key problem that a retry will meet again: the station fails queued calls at once.
    bool equivalent(int ev, const std::error_condition& cond) const noexcept override
    {
        if (cond == condition::permanent)
            return static_cast<tls_error>(ev) != tls_error::handshake_failed &&
                   ev >= static_cast<int>(tls_error::untrusted_certificate) &&
                   ev <= static_cast<int>(tls_error::certificate_refused);
        return default_error_condition(ev) == cond;
    }
};

bool parse_bool(const std::string& key, const std::string& text)
{
    if (text == "true")
        return true;
    if (text == "false")
        return false;
    throw std::invalid_argument("server option " + key + ": expected true or false, got \"" +
                                text + "\"");
}

} // namespace

const std::error_category& tls_category() noexcept
{
    static const tls_category_impl category;
    return category;
}

tls_options tls_for(const server_info& server, tls_options defaults)
{
    auto text = [&](std::string_view key, std::string& out) {
        if (auto it = server.options.find(key); it != server.options.end())
            out = it->second;
    };
    text("tls_cert", defaults.cert_file);
    text("tls_key", defaults.key_file);
    text("tls_ca", defaults.ca_file);
    text("tls_server_name", defaults.server_name);
    text("tls_client_ca", defaults.client_ca_file);
    text("tls_client_cert", defaults.client_cert_file);
    text("tls_client_key", defaults.client_key_file);
    if (auto it = server.options.find("tls"); it != server.options.end())
        defaults.enabled = parse_bool("tls", it->second);
    else if (server.options.contains("tls_cert"))
        defaults.enabled = true;
    return defaults;
}

namespace {

constexpr auto context_options = tls_context::default_workarounds | tls_context::no_sslv2 |
                                 tls_context::no_sslv3 | tls_context::no_tlsv1 |
                                 tls_context::no_tlsv1_1 | tls_context::single_dh_use;

} // namespace

std::shared_ptr<tls_context> make_server_context(const tls_options& o, std::error_code& ec)
{
    auto ctx = std::make_shared<tls_context>(tls_context::tls_server);
    boost::system::error_code bec;
    ctx->set_options(context_options, bec);
    if (o.cert_file.empty() || ctx->use_certificate_chain_file(o.cert_file, bec)) {
        ec = tls_error::bad_certificate;
        return nullptr;
    }
    if (o.key_file.empty() || ctx->use_private_key_file(o.key_file, tls_context::pem, bec) ||
        SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        ec = tls_error::bad_private_key;
        return nullptr;
    }
    if (!o.client_ca_file.empty()) {
        // Mutual TLS: a client without a certificate from these CAs fails the handshake.
        if (ctx->load_verify_file(o.client_ca_file, bec)) {
            ec = tls_error::bad_ca_file;
            return nullptr;
        }
        ctx->set_verify_mode(boost::asio::ssl::verify_peer |
                                 boost::asio::ssl::verify_fail_if_no_peer_cert,
                             bec);
    }
    ec.clear();
    return ctx;
}

std::shared_ptr<tls_context> make_client_context(const tls_options& o, std::error_code& ec)
{
    auto ctx = std::make_shared<tls_context>(tls_context::tls_client);
    boost::system::error_code bec;
    ctx->set_options(context_options, bec);
    if (o.verify_peer) {
        ctx->set_verify_mode(boost::asio::ssl::verify_peer, bec);
        if (!o.ca_file.empty()) {
            if (ctx->load_verify_file(o.ca_file, bec)) {
                ec = tls_error::bad_ca_file;
                return nullptr;
            }
        } else {
            // A host without a default store trusts nothing: handshakes then fail as
            // untrusted_certificate, which names the problem.
            ctx->set_default_verify_paths(bec);
        }
    } else {
        ctx->set_verify_mode(boost::asio::ssl::verify_none, bec);
    }
    if (!o.client_cert_file.empty() || !o.client_key_file.empty()) {
        if (o.client_cert_file.empty() || ctx->use_certificate_chain_file(o.client_cert_file, bec)) {
            ec = tls_error::bad_certificate;
            return nullptr;
        }
        if (o.client_key_file.empty() ||
            ctx->use_private_key_file(o.client_key_file, tls_context::pem, bec) ||
            SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
            ec = tls_error::bad_private_key;
            return nullptr;
        }
    }
    ec.clear();
    return ctx;
}

void prepare_client(SSL* ssl, const tls_options& o, const std::string& host)
{
    const std::string& name = o.server_name.empty() ? host : o.server_name;
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(name, not_ip);
    if (not_ip)
        SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!o.verify_peer)
        return;
    // OpenSSL checks the name during the handshake, so a mismatch shows up in
    // SSL_get_verify_result as its own reason.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (not_ip)
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    else
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
}

std::error_code handshake_error(const boost::system::error_code& ec, SSL* ssl)
{
    if (ec == boost::asio::error::operation_aborted)
        return std::make_error_code(std::errc::operation_canceled);
    switch (ssl ? SSL_get_verify_result(ssl) : X509_V_OK) {
    case X509_V_OK:
        return tls_error::handshake_failed;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return tls_error::name_mismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return tls_error::expired_certificate;
    default:
        return tls_error::untrusted_certificate;
    }
}

std::error_code read_error(const boost::system::error_code& ec)
{
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
            return tls_error::certificate_refused;
        default:
            break;
        }
    }
    return mailroom::detail::to_std_error(ec);
}

std::shared_ptr<tls_context> client_context_cache::get(const tls_options& o, std::error_code& ec)
{
    const std::string key = o.ca_file + (o.verify_peer ? "\n1\n" : "\n0\n") +
                            o.client_cert_file + "\n" + o.client_key_file;
    std::lock_guard lock(mu_);
    for (auto& [k, ctx] : contexts_)
        if (k == key)
            return ctx;
    auto ctx = make_client_context(o, ec);
    if (ctx)
        contexts_.emplace_back(key, ctx);
    return ctx;
}

} // namespace mailroom::tcp
