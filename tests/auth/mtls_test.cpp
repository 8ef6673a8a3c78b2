// Mutual TLS (issue 16, item 5): a server with `tls_client_ca` requires a client certificate
// from that CA, over tcp and ws; the certificates are made at test time
// (support/test_certificate.hpp), each its own test-only CA.

#include "support/log_capture.hpp"
#include "support/test_certificate.hpp"
#include "support/wait.hpp"
#include "transports/cluster.hpp"
#include "transports/under_test.hpp"

#include <mailroom/error.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/tcp/tls.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::cluster;
using mailroom::test::log_capture;
using mailroom::test::test_certificate;
using mailroom::test::transport_param;
using mailroom::test::wait;
namespace asio = boost::asio;

class MutualTls : public testing::TestWithParam<transport_param> {
protected:
    /// Starts the echo server requiring client certificates issued by `client_ca`; the
    /// client presents `cert` (none if null).
    void start(cluster& c, const test_certificate* cert)
    {
        c.bind_more = [this](mailroom::dispatcher& d) {
            d.add("probe", "touch", [this] { return ++touched; });
        };
        auto at = GetParam()->fresh_address();
        at.options["tls_client_ca"] = client_ca.cert_file().string();
        if (cert) {
            at.options["tls_client_cert"] = cert->cert_file().string();
            at.options["tls_client_key"] = cert->key_file().string();
        }
        c.start_server(at);
    }

    std::future<std::tuple<std::error_code, int>> touch(cluster& c)
    {
        return c.rpc->async_call<int>(
            {.server_type = "echo", .service = "probe", .method = "touch"}, "key", std::tuple{},
            asio::use_future);
    }

    test_certificate client_ca{"client-ca"};
    std::atomic<int> touched{0};
};

TEST_P(MutualTls, AClientWithTheCertificateIsAccepted)
{
    cluster c(GetParam(), 2);
    start(c, &client_ca);
    auto f = touch(c);
    auto [ec, n] = wait(f);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, 1);
}

TEST_P(MutualTls, AClientWithoutACertificateIsRefused)
{
    log_capture log;
    cluster c(GetParam(), 2, {.connect_timeout = 10s, .log = log.logger()});
    start(c, nullptr);
    auto f = touch(c);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("refused our client certificate")) << "named, and not retried";
    EXPECT_EQ(touched, 0);
    EXPECT_EQ(c.srv->connections(), 0u) << "the core never saw the connection";
}

TEST_P(MutualTls, AClientWithACertificateFromAnotherCaIsRefused)
{
    test_certificate stranger("stranger");
    log_capture log;
    cluster c(GetParam(), 2, {.connect_timeout = 10s, .log = log.logger()});
    start(c, &stranger);
    auto f = touch(c);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("refused our client certificate"));
    EXPECT_EQ(touched, 0);
}

TEST_P(MutualTls, ACertificateAndTheClusterSecretTogether)
{
    const std::string secret = "0123456789abcdef0123456789abcdef";
    mailroom::mail_station_options o;
    o.auth.secret = secret;
    cluster c(GetParam(), 2, o);
    c.server_auth.secret = secret;
    start(c, &client_ca);
    auto f = touch(c);
    EXPECT_FALSE(std::get<0>(wait(f)));
    EXPECT_EQ(c.srv->counters().auth_refused, 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, MutualTls,
                         testing::Values(mailroom::test::make_tcp_under_test(true),
                                         mailroom::test::make_ws_under_test(true)),
                         mailroom::test::transport_name);

TEST(MutualTlsOptions, ClientCertificateKeysComeFromTheServersEntry)
{
    mailroom::server_info s{.id = "b",
                            .options = {{"tls_cert", "c.pem"}, {"tls_key", "k.pem"},
                                        {"tls_client_ca", "clients.pem"},
                                        {"tls_client_cert", "me.pem"},
                                        {"tls_client_key", "me.key"}}};
    auto o = mailroom::tcp::tls_for(s);
    EXPECT_EQ(o.client_ca_file, "clients.pem");
    EXPECT_EQ(o.client_cert_file, "me.pem");
    EXPECT_EQ(o.client_key_file, "me.key");
    auto d = mailroom::tcp::tls_for({.id = "c"}, {.client_cert_file = "default.pem"});
    EXPECT_EQ(d.client_cert_file, "default.pem") << "the transport's default stays";
}

TEST(MutualTlsOptions, AnUnloadableClientCaKeepsTheAcceptorFromListening)
{
    asio::io_context ioc;
    test_certificate cert;
    auto a = mailroom::tcp::make_acceptor(
        ioc.get_executor(), {.tls = {.enabled = true,
                                     .cert_file = cert.cert_file().string(),
                                     .key_file = cert.key_file().string(),
                                     .client_ca_file = "/nonexistent/ca.pem"}});
    EXPECT_EQ(a->start([](auto) { return nullptr; }), mailroom::tcp::tls_error::bad_ca_file);
}

} // namespace
