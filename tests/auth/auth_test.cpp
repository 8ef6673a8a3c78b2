#include <mailroom/auth.hpp>
// Test that header file is self-contained.

// Authenticated links (issue 16, item 5): the HMAC challenge–response of the native
// handshake over every native transport, each refusal path, replay, the log limit and the
// client's hold after a refusal.

#include "support/log_capture.hpp"
#include "support/wait.hpp"
#include "transports/cluster.hpp"
#include "transports/under_test.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::cluster;
using mailroom::test::log_capture;
using mailroom::test::transport_param;
using mailroom::test::wait;
namespace asio = boost::asio;
namespace protocol = mailroom::protocol;

const std::string secret = "0123456789abcdef0123456789abcdef";
const std::string other_secret = "fedcba9876543210fedcba9876543210";

std::future<std::tuple<std::error_code, int>> add(cluster& c, int a, int b)
{
    return c.rpc->async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                  "key", std::tuple{a, b}, asio::use_future);
}

/// A method that counts its calls: a refused peer must never reach it.
std::future<std::tuple<std::error_code, int>> touch(cluster& c)
{
    return c.rpc->async_call<int>({.server_type = "echo", .service = "probe", .method = "touch"},
                                  "key", std::tuple{}, asio::use_future);
}

struct counting_cluster {
    counting_cluster(const transport_param& t, mailroom::auth_options server_auth,
                     mailroom::mail_station_options station)
        : c(t, 2, std::move(station))
    {
        c.server_auth = std::move(server_auth);
        c.server_log = server_log.logger();
        c.bind_more = [this](mailroom::dispatcher& d) {
            d.add("probe", "touch", [this] { return ++touched; });
        };
        c.start_server();
    }
    log_capture server_log;
    std::atomic<int> touched{0};
    cluster c;
};

mailroom::mail_station_options client(std::string s, log_capture* log = nullptr)
{
    mailroom::mail_station_options o{.connect_timeout = 5s};
    if (log)
        o.log = log->logger();
    o.auth.secret = std::move(s);
    return o;
}

class Auth : public testing::TestWithParam<transport_param> {};

TEST_P(Auth, TheRightSecretOpensTheLink)
{
    counting_cluster k(GetParam(), {.secret = secret}, client(secret));
    auto f = add(k.c, 2, 3);
    auto [ec, sum] = wait(f);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(sum, 5);
    auto t = touch(k.c);
    EXPECT_FALSE(std::get<0>(wait(t)));
    EXPECT_EQ(k.touched, 1);
    EXPECT_EQ(k.c.srv->counters().auth_refused, 0u);
}

TEST_P(Auth, AWrongSecretIsRefusedOnBothEndsAndNoHandlerRuns)
{
    log_capture client_log;
    counting_cluster k(GetParam(), {.secret = secret}, client(other_secret, &client_log));
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int i = 0; i < 5; ++i)
        calls.push_back(touch(k.c));
    for (auto& f : calls)
        EXPECT_EQ(std::get<0>(wait(f)), error::auth_failed);
    EXPECT_EQ(k.touched, 0) << "no handler ran for a peer with a wrong secret";
    EXPECT_EQ(k.c.srv->counters().auth_refused, 1u) << "the calls shared one refused link";
    EXPECT_EQ(k.c.srv->counters().protocol_errors, 0u);
    EXPECT_TRUE(k.server_log.wait_for("wrong proof of the cluster secret"));
    EXPECT_TRUE(client_log.wait_for("authentication failed"));
    for (const auto& [level, line] : client_log.lines())
        EXPECT_EQ(line.find(other_secret), std::string::npos) << "the secret is never logged";
    for (const auto& [level, line] : k.server_log.lines())
        EXPECT_EQ(line.find(secret), std::string::npos) << "the secret is never logged";
}

TEST_P(Auth, AClientWithoutASecretIsRefusedByAServerThatRequiresOne)
{
    counting_cluster k(GetParam(), {.secret = secret}, client(""));
    auto f = touch(k.c);
    EXPECT_EQ(std::get<0>(wait(f)), error::auth_required);
    EXPECT_EQ(k.touched, 0);
    EXPECT_EQ(k.c.srv->counters().auth_refused, 1u);
    EXPECT_TRUE(k.server_log.wait_for("did not authenticate"));
}

TEST_P(Auth, AClientWithASecretRefusesAServerWithout)
{
    // Decided (docs/security.md): a client that has the secret calls only servers that prove
    // it; the server says so, and the client would refuse a server that accepted anyway.
    counting_cluster k(GetParam(), {}, client(secret));
    auto f = touch(k.c);
    EXPECT_EQ(std::get<0>(wait(f)), error::auth_unavailable);
    EXPECT_EQ(k.touched, 0);
    EXPECT_TRUE(k.server_log.wait_for("this server has no cluster secret"));
}

INSTANTIATE_TEST_SUITE_P(Transports, Auth,
                         testing::Values(mailroom::test::make_tcp_under_test(false),
                                         mailroom::test::make_ws_under_test(false),
                                         mailroom::test::make_tcp_under_test(true),
                                         mailroom::test::make_ws_under_test(true)),
                         mailroom::test::transport_name);

TEST(AuthOptions, AServerThatDoesNotRequireItAcceptsBothAndStillChecksProofs)
{
    auto t = mailroom::test::make_tcp_under_test(false);
    counting_cluster k(t, {.secret = secret, .required = false}, client(""));
    auto f = add(k.c, 1, 1);
    EXPECT_FALSE(std::get<0>(wait(f)));

    cluster right(t, 2, client(secret));
    right.add_echo_server(k.c.address());
    auto g = add(right, 1, 2);
    EXPECT_FALSE(std::get<0>(wait(g)));

    cluster wrong(t, 2, client(other_secret));
    wrong.add_echo_server(k.c.address());
    auto h = add(wrong, 1, 3);
    EXPECT_EQ(std::get<0>(wait(h)), error::auth_failed);
    EXPECT_EQ(k.c.srv->counters().auth_refused, 1u);
}

TEST(AuthOptions, ASecretShorterThan16BytesIsRefusedWithoutShowingIt)
{
    asio::io_context ioc;
    try {
        mailroom::server srv(ioc.get_executor(), {.auth = {.secret = "short-secret"}});
        ADD_FAILURE() << "a short secret was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("short-secret"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("12 bytes"), std::string::npos) << e.what();
    }
    EXPECT_THROW(mailroom::mail_station(ioc.get_executor(), {.auth = {.secret = "x"}}),
                 std::invalid_argument);
    EXPECT_NO_THROW(mailroom::mail_station(ioc.get_executor(), {.auth = {.secret = secret}}));
}

TEST(AuthOptions, TheSecretComesFromTheEnvironment)
{
    ::setenv("MAILROOM_TEST_AUTH_SECRET", secret.c_str(), 1);
    EXPECT_EQ(mailroom::auth_from_environment("MAILROOM_TEST_AUTH_SECRET").secret, secret);
    ::unsetenv("MAILROOM_TEST_AUTH_SECRET");
    EXPECT_FALSE(mailroom::auth_from_environment("MAILROOM_TEST_AUTH_SECRET").enabled());
}

TEST(AuthHold, ARefusedClientFailsEveryQueuedCallAndDoesNotReconnectPerCall)
{
    auto t = mailroom::test::make_tcp_under_test(false);
    auto options = client(other_secret);
    options.max_reconnect_delay = 10s; // the hold after a refusal
    counting_cluster k(t, {.secret = secret}, options);
    std::vector<std::future<std::tuple<std::error_code, int>>> queued;
    for (int i = 0; i < 20; ++i)
        queued.push_back(touch(k.c));
    for (auto& f : queued)
        EXPECT_EQ(std::get<0>(wait(f)), error::auth_failed);
    // Calls made now fail at once, with the same code, without a link per call.
    for (int i = 0; i < 50; ++i) {
        auto f = touch(k.c);
        EXPECT_EQ(std::get<0>(wait(f)), error::auth_failed);
    }
    EXPECT_EQ(k.c.srv->counters().auth_refused, 1u) << "one connection for 70 calls";
    EXPECT_EQ(k.touched, 0);
    EXPECT_GE(k.c.station->counters().connect_failed, 70u);
}

// --- the wire, by hand: the documented transcript, replay, the log limit -------------------

std::string hmac(const std::string& key, const std::string& data)
{
    unsigned char out[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return {reinterpret_cast<char*>(out), len};
}

std::string sized(const std::string& s)
{
    const auto n = static_cast<std::uint32_t>(s.size());
    return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)} +
           s;
}

/// The proof of docs/protocol.md section 6, computed independently of the library.
std::string proof(const std::string& key, const char* role, const std::string& client_id,
                  const std::string& server_id, const std::string& cn, const std::string& sn)
{
    std::string label = std::string("mailroom auth v2 ") + role;
    label.push_back('\0');
    return hmac(key, label + sized(client_id) + sized(server_id) + sized(cn) + sized(sn));
}

std::string body_of(mailroom::frame& f) { return {f.body().data(), f.body().size()}; }

void send(mailroom::test::raw_link& link, const std::string& body)
{
    link.send_body(std::span<const char>(body.data(), body.size()));
}

std::optional<protocol::message> receive(mailroom::test::raw_link& link, msgpack::zone& zone,
                                         std::vector<char>& keep)
{
    auto bytes = link.receive();
    if (!bytes)
        return std::nullopt;
    keep = std::move(*bytes);
    protocol::message m;
    if (protocol::decode(keep, zone, m))
        return std::nullopt;
    return m;
}

std::string auth_hello(const std::string& nonce)
{
    mailroom::frame f;
    protocol::hello_view h;
    h.version = 2;
    h.peer_id = "raw";
    h.nonce = nonce;
    protocol::encode_handshake(f, protocol::message_kind::hello, h);
    return body_of(f);
}

std::string proof_message(const std::string& p)
{
    mailroom::frame f;
    protocol::hello_view h;
    h.proof = p;
    protocol::encode_handshake(f, protocol::message_kind::proof, h);
    return body_of(f);
}

std::string touch_request()
{
    mailroom::frame f;
    protocol::encode_request(f, 1, {.server_type = "echo", .service = "probe", .method = "touch"},
                             std::tuple<>{});
    return body_of(f);
}

TEST(AuthWire, AHandshakeByTheDocumentedTranscriptIsAcceptedAndItsReplayIsRefused)
{
    auto t = mailroom::test::make_tcp_under_test(false);
    counting_cluster k(t, {.secret = secret}, client(secret));
    const std::string cn(32, '\x11');
    std::string captured_proof;
    {
        auto link = t->connect_raw(k.c.ioc, k.c.address());
        msgpack::zone zone;
        std::vector<char> keep;
        send(*link, auth_hello(cn));
        auto challenge = receive(*link, zone, keep);
        ASSERT_TRUE(challenge);
        ASSERT_EQ(challenge->kind, protocol::message_kind::challenge);
        EXPECT_EQ(challenge->hello.peer_id, "echo-1");
        ASSERT_EQ(challenge->hello.nonce.size(), 32u);
        const std::string sn(challenge->hello.nonce);
        captured_proof = proof(secret, "client", "raw", "echo-1", cn, sn);
        send(*link, proof_message(captured_proof));
        auto ack = receive(*link, zone, keep);
        ASSERT_TRUE(ack);
        ASSERT_EQ(ack->kind, protocol::message_kind::hello_ack);
        EXPECT_EQ(ack->hello.code, 0);
        EXPECT_EQ(ack->hello.version, 2u);
        EXPECT_EQ(std::string(ack->hello.proof), proof(secret, "server", "raw", "echo-1", cn, sn))
            << "the server proves itself on the accepting hello_ack";
        send(*link, touch_request());
        auto response = receive(*link, zone, keep);
        ASSERT_TRUE(response);
        EXPECT_EQ(response->kind, protocol::message_kind::response);
        EXPECT_EQ(response->response.code, 0);
    }
    EXPECT_EQ(k.touched, 1);
    // The same bytes again, on a new link: the server's nonce is new, the proof is stale.
    auto link = t->connect_raw(k.c.ioc, k.c.address());
    msgpack::zone zone;
    std::vector<char> keep;
    send(*link, auth_hello(cn));
    auto challenge = receive(*link, zone, keep);
    ASSERT_TRUE(challenge);
    ASSERT_EQ(challenge->kind, protocol::message_kind::challenge);
    send(*link, proof_message(captured_proof));
    send(*link, touch_request()); // sent before the refusal arrives: never dispatched
    auto ack = receive(*link, zone, keep);
    ASSERT_TRUE(ack);
    ASSERT_EQ(ack->kind, protocol::message_kind::hello_ack);
    EXPECT_EQ(ack->hello.code, static_cast<int>(error::auth_failed));
    EXPECT_FALSE(link->receive()) << "the server closed the link";
    EXPECT_EQ(k.touched, 1) << "the replayed call never ran";
    EXPECT_EQ(k.c.srv->counters().auth_refused, 1u);
}

TEST(AuthWire, AVersion2HelloWithoutANonceIsRefusedAndAVersion3HelloIsAVersionMismatch)
{
    auto t = mailroom::test::make_tcp_under_test(false);
    counting_cluster k(t, {.secret = secret}, client(secret));
    auto link = t->connect_raw(k.c.ioc, k.c.address());
    msgpack::zone zone;
    std::vector<char> keep;
    send(*link, auth_hello(""));
    auto ack = receive(*link, zone, keep);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->hello.code, static_cast<int>(error::auth_required));

    auto other = t->connect_raw(k.c.ioc, k.c.address());
    mailroom::frame f;
    protocol::hello_view h;
    h.version = 3;
    protocol::encode_handshake(f, protocol::message_kind::hello, h);
    send(*other, body_of(f));
    auto refused = receive(*other, zone, keep);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->hello.code, static_cast<int>(error::version_mismatch));
    EXPECT_EQ(refused->hello.version, 2u) << "the server names the newest version it speaks";
}

TEST(AuthWire, RefusalsFromOneAddressAreCountedEachAndLoggedOnce)
{
    for (auto t : {mailroom::test::make_tcp_under_test(false),
                   mailroom::test::make_ws_under_test(false)}) {
        counting_cluster k(t, {.secret = secret}, client(secret));
        constexpr int attempts = 30;
        for (int i = 0; i < attempts; ++i) {
            auto link = t->connect_raw(k.c.ioc, k.c.address());
            mailroom::frame f;
            protocol::encode_hello(f, "stranger"); // version 1: no authentication offered
            send(*link, body_of(f));
            msgpack::zone zone;
            std::vector<char> keep;
            auto ack = receive(*link, zone, keep);
            ASSERT_TRUE(ack);
            EXPECT_EQ(ack->hello.code, static_cast<int>(error::auth_required));
            EXPECT_FALSE(link->receive());
        }
        EXPECT_EQ(k.c.srv->counters().auth_refused, static_cast<std::uint64_t>(attempts));
        int lines = 0;
        for (const auto& [level, line] : k.server_log.lines())
            if (line.find("did not authenticate") != std::string::npos)
                ++lines;
        EXPECT_EQ(lines, 1) << t->name() << ": one line per address and interval";
        EXPECT_EQ(k.server_log.lines().size(), 1u) << t->name() << ": and no other line";
    }
}

} // namespace
