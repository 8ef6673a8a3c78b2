#include "test_certificate.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

namespace mailroom::test {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct file_close {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

void check(bool ok, const char* what)
{
    if (!ok)
        throw std::runtime_error(std::string("test certificate: ") + what + " failed");
}

void add_extension(X509* cert, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    const bool added = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    check(added, "X509_add_ext");
}

std::unique_ptr<std::FILE, file_close> open_for_write(const std::filesystem::path& p)
{
    std::unique_ptr<std::FILE, file_close> f(std::fopen(p.c_str(), "wb"));
    check(f != nullptr, "fopen");
    return f;
}

} // namespace

std::filesystem::path make_temp_dir(const std::string& tag)
{
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               ("mailroom-" + tag + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

test_certificate::test_certificate(const std::string& tag)
    : dir_(make_temp_dir(tag)), cert_(dir_ / "cert.pem"), key_(dir_ / "key.pem")
{
    // P-256: a key in microseconds, where RSA would take a noticeable part of a test.
    std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");

    std::unique_ptr<X509, x509_free> cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    static std::atomic<long> serial{1};
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial.fetch_add(1)) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("mailroom tests"), -1,
                                     -1, 0) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         reinterpret_cast<const unsigned char*>(tag.c_str()), -1,
                                         -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
    check(X509_set_issuer_name(cert.get(), name) == 1, "X509_set_issuer_name");
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

    check(PEM_write_X509(open_for_write(cert_).get(), cert.get()) == 1, "PEM_write_X509");
    check(PEM_write_PrivateKey(open_for_write(key_).get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) == 1,
          "PEM_write_PrivateKey");
}

test_certificate::~test_certificate()
{
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

} // namespace mailroom::test
