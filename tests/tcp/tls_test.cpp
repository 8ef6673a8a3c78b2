#include <mailroom/tcp/tls.hpp>
// Test that header file is self-contained.

// TLS for the TCP transport (the WebSocket transport shares it): configuration, refusals and
// what a caller sees. The conformance suite runs everything else over TLS ("tcp_tls").

#include "support/log_capture.hpp"
#include "support/test_certificate.hpp"
#include "support/wait.hpp"
#include "transports/cluster.hpp"
#include "transports/under_test.hpp"

#include <mailroom/error.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::tcp::tls_error;
using mailroom::test::cluster;
using mailroom::test::log_capture;
using mailroom::test::wait;
namespace asio = boost::asio;

std::future<std::tuple<std::error_code, int>> add(cluster& c, int a, int b)
{
    return c.rpc->async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                  "key", std::tuple{a, b}, asio::use_future);
}

TEST(Tls, EveryErrorHasATlsMessageAndIsRetryable)
{
    for (int v = 1; v <= static_cast<int>(tls_error::certificate_refused); ++v) {
        std::error_code ec = static_cast<tls_error>(v);
        EXPECT_STREQ(ec.category().name(), "mailroom.tls");
        EXPECT_NE(ec.message().find("TLS"), std::string::npos) << v;
        EXPECT_EQ(ec, mailroom::condition::retryable) << v;
    }
}

TEST(Tls, CertificateAndKeyErrorsArePermanentAndAFailedHandshakeIsNot)
{
    // The station fails queued calls at once on a permanent connect error; a handshake that
    // failed may be a server still starting, so it is retried.
    EXPECT_NE(std::error_code(tls_error::handshake_failed), mailroom::condition::permanent);
    for (int v = static_cast<int>(tls_error::untrusted_certificate);
         v <= static_cast<int>(tls_error::certificate_refused); ++v)
        EXPECT_EQ(std::error_code(static_cast<tls_error>(v)), mailroom::condition::permanent) << v;
}

TEST(Tls, OptionsComeFromTheServersEntry)
{
    mailroom::server_info plain{.id = "a"};
    EXPECT_FALSE(mailroom::tcp::tls_for(plain).enabled) << "off by default";
    EXPECT_TRUE(mailroom::tcp::tls_for(plain, {.enabled = true}).enabled) << "the default stays";

    mailroom::server_info s{.id = "b", .host = "game.example",
                            .options = {{"tls_cert", "c.pem"}, {"tls_key", "k.pem"},
                                        {"tls_ca", "ca.pem"}, {"tls_server_name", "b.example"}}};
    auto o = mailroom::tcp::tls_for(s);
    EXPECT_TRUE(o.enabled) << "a certificate turns it on";
    EXPECT_EQ(o.cert_file, "c.pem");
    EXPECT_EQ(o.key_file, "k.pem");
    EXPECT_EQ(o.ca_file, "ca.pem");
    EXPECT_EQ(o.server_name, "b.example");

    s.options["tls"] = "false";
    EXPECT_FALSE(mailroom::tcp::tls_for(s).enabled) << "an explicit tls wins";
    s.options["tls"] = "maybe";
    EXPECT_THROW(mailroom::tcp::tls_for(s), std::invalid_argument);
}

TEST(Tls, AnAcceptorWithoutAUsableCertificateDoesNotListen)
{
    asio::io_context ioc;
    mailroom::test::test_certificate cert;
    auto start = [&](mailroom::tcp::tls_options o) {
        o.enabled = true;
        return mailroom::tcp::make_acceptor(ioc.get_executor(), {.tls = o})->start(
            [](auto) { return nullptr; });
    };
    EXPECT_EQ(start({}), tls_error::bad_certificate);
    EXPECT_EQ(start({.cert_file = "/nonexistent/cert.pem", .key_file = cert.key_file()}),
              tls_error::bad_certificate);
    EXPECT_EQ(start({.cert_file = cert.cert_file(), .key_file = "/nonexistent/key.pem"}),
              tls_error::bad_private_key);
    mailroom::test::test_certificate other("other");
    EXPECT_EQ(start({.cert_file = cert.cert_file(), .key_file = other.key_file()}),
              tls_error::bad_private_key)
        << "a key that does not match the certificate";
    EXPECT_FALSE(start({.cert_file = cert.cert_file(), .key_file = cert.key_file()}));
}

TEST(Tls, AClientThatDoesNotTrustTheCertificateFailsWithConnectFailedAndTheLogNamesTls)
{
    auto t = mailroom::test::make_tcp_under_test(true);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    c.start_server();
    mailroom::test::test_certificate stranger("stranger");
    auto at = c.address();
    at.options["tls_ca"] = stranger.cert_file().string(); // trusts another CA only
    c.add_echo_server(at);
    auto f = add(c, 1, 2);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("TLS: the server's certificate is not trusted"));
    EXPECT_EQ(c.srv->connections(), 0u) << "the server never saw a connection";
}

TEST(Tls, ACertificateForAnotherNameIsRefused)
{
    auto t = mailroom::test::make_tcp_under_test(true);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    c.start_server();
    auto at = c.address();
    at.options["tls_server_name"] = "chat.example"; // the certificate names localhost only
    c.add_echo_server(at);
    auto f = add(c, 1, 2);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("does not match its host name"));
}

TEST(Tls, APlainClientCannotTalkToATlsServerNorTheOtherWayRound)
{
    auto t = mailroom::test::make_tcp_under_test(true);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    c.start_server();
    auto at = c.address();
    at.options["tls"] = "false";
    c.add_echo_server(at);
    auto f = add(c, 1, 2);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);

    auto plain = mailroom::test::make_tcp_under_test(false);
    cluster d(*plain, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    d.start_server();
    auto tls_at = d.address();
    tls_at.options = t->fresh_address().options; // the client expects TLS
    tls_at.options.erase("tls_cert");
    tls_at.options["tls"] = "true";
    d.add_echo_server(tls_at);
    auto g = add(d, 1, 2);
    EXPECT_EQ(std::get<0>(wait(g)), error::connect_failed);
    EXPECT_TRUE(log.contains("TLS handshake failed"));
}

TEST(Tls, AConnectionThatNeverCompletesItsHandshakeIsDropped)
{
    asio::io_context ioc;
    mailroom::test::test_certificate cert;
    mailroom::server srv(ioc.get_executor(), {.log = {.min_level = mailroom::log_level::off}});
    auto acc = mailroom::tcp::make_acceptor(
        ioc.get_executor(),
        {.tls = {.enabled = true, .cert_file = cert.cert_file(), .key_file = cert.key_file()},
         .handshake_timeout = 100ms});
    ASSERT_FALSE(srv.listen(acc));
    asio::ip::tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), acc->port()});
    char byte;
    auto f = s.async_read_some(asio::buffer(&byte, 1), asio::use_future);
    std::thread io([&] { ioc.run(); });
    EXPECT_THROW(wait(f), boost::system::system_error) << "the server hangs up";
    EXPECT_EQ(srv.connections(), 0u);
    srv.stop();
    io.join();
}

} // namespace
