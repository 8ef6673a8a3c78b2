#include "client/client_handshake.hpp"
// Test that header file is self-contained.

// The client's side of the authenticated handshake, through the mail box's state machine
// (no sockets, no clock): what a server that cannot prove the secret gets, and the hold
// after a refusal.

#include "auth/hmac.hpp"
#include "client/mailbox_fsm.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::frame;
using mailroom::detail::fsm_actions;
using mailroom::detail::mailbox_fsm;
using mailroom::protocol::message;
using mailroom::protocol::message_kind;
using time_point = mailbox_fsm::time_point;

const time_point t0 = time_point(1h);
const std::string secret = "0123456789abcdef0123456789abcdef";
const std::string server_nonce(32, '\x42');

mailroom::detail::mailbox_fsm_config config()
{
    mailroom::detail::mailbox_fsm_config c;
    c.server_id = "math-1";
    c.client_id = "client-1";
    c.address = "127.0.0.1:1 (fake)";
    c.connect_timeout = 1000ms;
    c.reconnect_delay = 10ms;
    c.max_reconnect_delay = 40ms;
    c.min_log_level = mailroom::log_level::trace;
    c.auth_secret = secret;
    // A refusal holds the mail box for max_reconnect_delay; with down marking on (the
    // station's default) it marks the server down instead: both have a test below.
    c.probe_delay = 0ms;
    return c;
}

struct decoded {
    std::vector<char> bytes;
    msgpack::zone zone;
    message msg;
};

std::unique_ptr<decoded> decode(frame& f)
{
    auto d = std::make_unique<decoded>();
    d->bytes.assign(f.body().begin(), f.body().end());
    EXPECT_FALSE(mailroom::protocol::decode(d->bytes, d->zone, d->msg));
    return d;
}

struct auth_fsm : ::testing::Test {
    explicit auth_fsm(mailroom::detail::mailbox_fsm_config c = config()) : fsm(std::move(c)) {}

    mailbox_fsm fsm;
    std::map<std::uint64_t, std::error_code> done;
    std::uint64_t gen = 0;
    std::string client_nonce;

    mailbox_fsm::admission call(fsm_actions& a, std::uint64_t id, time_point now)
    {
        frame f;
        mailroom::protocol::encode_request(f, id, {.server_type = "math", .method = "add"},
                                           std::tuple{1}, 1);
        mailroom::detail::call_handler h = [this, id](std::error_code ec, const auto*) {
            EXPECT_FALSE(done.count(id)) << "completed twice";
            done[id] = ec;
        };
        auto r = fsm.call(a, now, id, f, now + 30s, h, 0);
        if (r.what == mailbox_fsm::admit::failed)
            h(r.ec, nullptr);
        return r;
    }

    void complete(fsm_actions& a)
    {
        for (auto& [h, ec] : a.calls)
            h(ec, nullptr);
    }

    /// A call, the connect, and the authenticating hello (checked).
    void connect(time_point now = t0)
    {
        fsm_actions a;
        call(a, 1, now);
        gen = a.connect_gen;
        ASSERT_NE(gen, 0u);
        fsm_actions c;
        fsm.on_connected(c, now, gen, {});
        ASSERT_EQ(c.sends.size(), 1u);
        auto hello = decode(c.sends[0]);
        ASSERT_EQ(hello->msg.kind, message_kind::hello);
        EXPECT_EQ(hello->msg.hello.version, 2u);
        EXPECT_EQ(hello->msg.hello.peer_id, "client-1");
        ASSERT_EQ(hello->msg.hello.nonce.size(), 32u);
        client_nonce = std::string(hello->msg.hello.nonce);
    }

    /// The server's challenge; returns the proof the client answered with.
    std::string challenge(std::string_view server_id = "math-1")
    {
        message m;
        m.kind = message_kind::challenge;
        m.hello.peer_id = server_id;
        m.hello.nonce = server_nonce;
        fsm_actions a;
        fsm.on_message(a, t0, gen, {}, m);
        if (a.sends.size() != 1) {
            complete(a);
            return {};
        }
        auto p = decode(a.sends[0]);
        EXPECT_EQ(p->msg.kind, message_kind::proof);
        return std::string(p->msg.hello.proof);
    }

    /// Call 1's link: connected, challenged, then refused (auth_failed) at t0.
    fsm_actions refused()
    {
        connect();
        challenge();
        message m;
        m.kind = message_kind::hello_ack;
        m.hello.code = static_cast<int>(error::auth_failed);
        fsm_actions a;
        fsm.on_message(a, t0, gen, {}, m);
        complete(a);
        return a;
    }

    fsm_actions ack(std::string_view proof)
    {
        message m;
        m.kind = message_kind::hello_ack;
        m.hello.version = 2;
        m.hello.peer_id = "math-1";
        m.hello.proof = proof;
        fsm_actions a;
        fsm.on_message(a, t0, gen, {}, m);
        return a;
    }

    std::string proof_of(mailroom::detail::auth_role role, const std::string& key = secret)
    {
        auto p = mailroom::detail::auth_proof(key, role, "client-1", "math-1", client_nonce,
                                              server_nonce);
        return std::string(p.data(), p.size());
    }
};

TEST_F(auth_fsm, AServerProvingTheSecretOpensTheLinkAndTheQueuedCallLeaves)
{
    connect();
    EXPECT_EQ(challenge(), proof_of(mailroom::detail::auth_role::client));
    auto a = ack(proof_of(mailroom::detail::auth_role::server));
    ASSERT_EQ(a.sends.size(), 1u);
    EXPECT_EQ(decode(a.sends[0])->msg.kind, message_kind::request);
    fsm_actions f;
    fsm.on_flushed(f, t0);
    EXPECT_TRUE(fsm.open());
    EXPECT_TRUE(done.empty());
}

TEST_F(auth_fsm, AServerWhoseProofIsWrongIsRefusedWithAuthFailed)
{
    connect();
    challenge();
    auto a = ack(proof_of(mailroom::detail::auth_role::server, std::string(32, 'w')));
    EXPECT_TRUE(a.sends.empty()) << "no call reaches a server that did not prove the secret";
    EXPECT_TRUE(a.close_box);
    complete(a);
    EXPECT_EQ(done.at(1), error::auth_failed);
}

TEST_F(auth_fsm, OurOwnProofReflectedBackIsNotTheServersProof)
{
    connect();
    const auto mine = challenge();
    auto a = ack(mine);
    complete(a);
    EXPECT_EQ(done.at(1), error::auth_failed);
}

TEST_F(auth_fsm, AServerThatAcceptsWithoutAChallengeIsRefusedWithAuthUnavailable)
{
    connect();
    auto a = ack({}); // an accepting hello_ack, no challenge before it
    EXPECT_TRUE(a.sends.empty());
    complete(a);
    EXPECT_EQ(done.at(1), error::auth_unavailable);
}

TEST_F(auth_fsm, AServerThatPredatesAuthenticationIsAuthUnavailable)
{
    connect();
    message m;
    m.kind = message_kind::hello_ack;
    m.hello.version = 1;
    m.hello.code = static_cast<int>(error::version_mismatch);
    fsm_actions a;
    fsm.on_message(a, t0, gen, {}, m);
    complete(a);
    EXPECT_EQ(done.at(1), error::auth_unavailable);
}

TEST_F(auth_fsm, AChallengeFromAnotherServerIdIsWrongServerAndGetsNoProof)
{
    connect();
    EXPECT_TRUE(challenge("math-2").empty());
    EXPECT_EQ(done.at(1), error::wrong_server);
}

TEST_F(auth_fsm, AfterARefusalCallsFailAtOnceUntilTheHoldEndsThenConnectAgain)
{
    refused();
    ASSERT_EQ(done.at(1), error::auth_failed);

    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0 + 39ms).what, mailbox_fsm::admit::failed);
    EXPECT_EQ(done.at(2), error::auth_failed);
    EXPECT_EQ(b.connect_gen, 0u) << "no link per call during the hold";

    fsm_actions c;
    EXPECT_EQ(call(c, 3, t0 + 40ms).what, mailbox_fsm::admit::queued);
    EXPECT_NE(c.connect_gen, 0u) << "max_reconnect_delay later, a call connects again";
}

/// The station's default: a failed handshake marks the server down (probe after 100 ms).
struct auth_down_fsm : auth_fsm {
    static mailroom::detail::mailbox_fsm_config probing()
    {
        auto c = config();
        c.probe_delay = 100ms;
        return c;
    }
    auth_down_fsm() : auth_fsm(probing()) {}
};

TEST_F(auth_down_fsm, ARefusalMarksTheServerDownUntilAProbe)
{
    fsm_actions a = refused();
    ASSERT_EQ(done.at(1), error::auth_failed);
    EXPECT_TRUE(fsm.down());
    ASSERT_TRUE(a.connect_timer) << "a probe";
    EXPECT_GE(*a.connect_timer, t0 + 50ms);
    EXPECT_LE(*a.connect_timer, t0 + 100ms);

    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0 + 45ms).what, mailbox_fsm::admit::failed);
    EXPECT_EQ(done.at(2), error::auth_failed) << "the refusal, at once";
    EXPECT_EQ(b.connect_gen, 0u) << "no link per call while down";

    fsm_actions p;
    fsm.on_connect_timer(p, *a.connect_timer);
    EXPECT_NE(p.connect_gen, 0u) << "the probe connects again";
}

TEST(ClientHandshake, WithoutASecretTheHelloIsTheVersion1Hello)
{
    const std::string none, client = "c", server = "s";
    mailroom::detail::client_handshake h;
    frame mine = h.hello({*mailroom::native_protocol(), none, client, server});
    frame v1;
    mailroom::protocol::encode_hello(v1, "c");
    EXPECT_EQ(std::string(mine.body().data(), mine.body().size()),
              std::string(v1.body().data(), v1.body().size()));
}

} // namespace
