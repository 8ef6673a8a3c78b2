#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace mailroom::detail {

/// Bytes of a handshake nonce, and of a proof (HMAC-SHA256).
inline constexpr std::size_t auth_nonce_size = 32;
inline constexpr std::size_t auth_proof_size = 32;

using auth_bytes = std::array<char, 32>;

inline std::string_view view(const auth_bytes& b) noexcept { return {b.data(), b.size()}; }

/// A fresh nonce from OpenSSL's CSPRNG. Throws std::runtime_error if it has no entropy.
auth_bytes make_auth_nonce();

/// Who a proof comes from: the two ends prove over distinct labels, so one end's proof can
/// never be reflected back as the other's.
enum class auth_role { client, server };

/** HMAC-SHA256(secret, label(role) || len || client_id || len || server_id || client_nonce
    || server_nonce), lengths as 4-byte big-endian (docs/protocol.md, section 6).
*/
auth_bytes auth_proof(std::string_view secret, auth_role role, std::string_view client_id,
                      std::string_view server_id, std::string_view client_nonce,
                      std::string_view server_nonce);

/// Whether `received` is `expected`, in time independent of where they differ
/// (CRYPTO_memcmp); false for a size other than a proof's.
bool auth_proof_matches(const auth_bytes& expected, std::string_view received) noexcept;

} // namespace mailroom::detail
