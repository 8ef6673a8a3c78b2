#include "hmac.hpp"

#include <mailroom/auth.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace mailroom {

void check_auth_options(const auth_options& o)
{
    if (o.enabled() && o.secret.size() < min_auth_secret_size)
        throw std::invalid_argument("the cluster secret has " + std::to_string(o.secret.size()) +
                                    " bytes; at least " + std::to_string(min_auth_secret_size) +
                                    " are required");
}

auth_options auth_from_environment(const char* name)
{
    auth_options o;
    if (const char* v = std::getenv(name); v && *v)
        o.secret = v;
    check_auth_options(o);
    return o;
}

} // namespace mailroom

namespace mailroom::detail {
namespace {

constexpr std::string_view client_label{"mailroom auth v2 client\0", 24};
constexpr std::string_view server_label{"mailroom auth v2 server\0", 24};

void append_sized(std::string& out, std::string_view s)
{
    const auto n = static_cast<std::uint32_t>(s.size());
    const char len[] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
    out.append(len, sizeof len);
    out.append(s);
}

} // namespace

auth_bytes make_auth_nonce()
{
    auth_bytes n;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1)
        throw std::runtime_error("no randomness for a handshake nonce (RAND_bytes failed)");
    return n;
}

auth_bytes auth_proof(std::string_view secret, auth_role role, std::string_view client_id,
                      std::string_view server_id, std::string_view client_nonce,
                      std::string_view server_nonce)
{
    std::string transcript;
    transcript.reserve(24 + 8 + client_id.size() + server_id.size() + client_nonce.size() +
                       server_nonce.size());
    transcript.append(role == auth_role::client ? client_label : server_label);
    append_sized(transcript, client_id);
    append_sized(transcript, server_id);
    append_sized(transcript, client_nonce);
    append_sized(transcript, server_nonce);
    auth_bytes out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(transcript.data()), transcript.size(),
         reinterpret_cast<unsigned char*>(out.data()), &len);
    return out;
}

bool auth_proof_matches(const auth_bytes& expected, std::string_view received) noexcept
{
    return received.size() == expected.size() &&
           CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

} // namespace mailroom::detail
