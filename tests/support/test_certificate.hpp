#pragma once

#include <filesystem>
#include <string>

namespace mailroom::test {

/** A fresh self-signed certificate and its key, generated with OpenSSL's C API (no `openssl`
    binary needed) and written as PEM files to a temporary directory that the destructor
    removes. The certificate names "localhost" and 127.0.0.1 (subjectAltName), is its own CA,
    and is valid from an hour ago for a day. Throws std::runtime_error if OpenSSL fails.
*/
class test_certificate {
public:
    /// `tag` names the directory, for humans.
    explicit test_certificate(const std::string& tag = "cert");
    ~test_certificate();

    test_certificate(const test_certificate&) = delete;
    test_certificate& operator=(const test_certificate&) = delete;

    /// The certificate (PEM); also what a client trusts as its CA file.
    const std::filesystem::path& cert_file() const noexcept { return cert_; }
    /// The private key (PEM, unencrypted).
    const std::filesystem::path& key_file() const noexcept { return key_; }

private:
    std::filesystem::path dir_;
    std::filesystem::path cert_;
    std::filesystem::path key_;
};

/// A fresh, empty temporary directory, unique in this process; the caller removes it.
std::filesystem::path make_temp_dir(const std::string& tag);

} // namespace mailroom::test
