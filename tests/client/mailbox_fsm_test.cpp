#include "client/mailbox_fsm.hpp"
// Test that header file is self-contained.

// The mail box's state machine, driven by hand: no sockets, no threads, no clock (the time
// is an argument). Each race the station tests cover over a fake transport is replayed here
// as an order of events.

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
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
using admit = mailbox_fsm::admit;
using time_point = mailbox_fsm::time_point;

const time_point t0 = time_point(1h);

mailroom::detail::mailbox_fsm_config config()
{
    mailroom::detail::mailbox_fsm_config c;
    c.server_id = "math-1";
    c.client_id = "client-1";
    c.address = "127.0.0.1:1 (fake)";
    c.connect_timeout = 1000ms;
    c.reconnect_delay = 10ms;
    c.max_reconnect_delay = 40ms;
    c.max_pending = 100;
    c.max_in_flight = 100;
    c.max_queued_bytes = 10'000;
    c.min_log_level = mailroom::log_level::trace;
    // One connect cycle at a time: marking a server down after a failed cycle has tests of
    // its own (DownServer.*).
    c.probe_delay = 0ms;
    return c;
}

/// A message as the driver hands it over (decoded).
message response(std::uint64_t id)
{
    message m;
    m.kind = message_kind::response;
    m.response.id = id;
    return m;
}

message hello_ack(std::string_view peer_id = "math-1", int code = 0)
{
    message m;
    m.kind = message_kind::hello_ack;
    m.hello.peer_id = peer_id;
    m.hello.code = code;
    return m;
}

frame request_frame(std::uint64_t id, std::size_t pad = 0)
{
    frame f;
    mailroom::protocol::encode_request(f, id,
                                       {.server_type = "math", .service = "calc", .method = "add"},
                                       std::tuple{std::string(pad, 'x')}, 1);
    return f;
}

/// Decodes the frames of `sends` and returns them.
struct sent_frames {
    msgpack::zone zone;
    std::vector<std::vector<char>> bytes;
    std::vector<message> msgs;

    explicit sent_frames(fsm_actions& a)
    {
        for (auto& f : a.sends)
            bytes.emplace_back(f.body().begin(), f.body().end());
        for (const auto& b : bytes) {
            message m;
            EXPECT_FALSE(mailroom::protocol::decode(b, zone, m));
            msgs.push_back(m);
        }
    }
};

/// `more` is false only if nothing but `responded` is set (the driver then skips the rest).
void check_more(const fsm_actions& a)
{
    if (a.more)
        return;
    EXPECT_EQ(a.connect_gen, 0u);
    EXPECT_FALSE(a.close_box);
    EXPECT_TRUE(a.sends.empty());
    EXPECT_FALSE(a.flushed);
    EXPECT_TRUE(a.calls.empty());
    EXPECT_TRUE(a.statuses.empty());
    EXPECT_FALSE(a.call_timer);
    EXPECT_FALSE(a.connect_timer);
    EXPECT_FALSE(a.cancel_connect_timer);
    EXPECT_TRUE(a.logs.empty());
    EXPECT_EQ(a.late_replies, 0u);
    EXPECT_FALSE(a.link_queue_full);
}

/// The machine plus what its completions reported.
struct fsm_fixture : ::testing::Test {
    explicit fsm_fixture(mailroom::detail::mailbox_fsm_config c = config()) : fsm(std::move(c)) {}

    mailbox_fsm fsm;
    std::map<std::uint64_t, std::error_code> done; // call id -> how it ended
    std::vector<std::error_code> notified;

    mailroom::detail::call_handler handler(std::uint64_t id)
    {
        return [this, id](std::error_code ec, const mailroom::protocol::response_view*) {
            EXPECT_FALSE(done.count(id)) << "call " << id << " completed twice";
            done[id] = ec;
        };
    }

    /// Runs the completions an event asked for (a response completes with success).
    void complete(fsm_actions& a)
    {
        check_more(a);
        if (a.responded)
            a.responded({}, nullptr);
        for (auto& [h, ec] : a.calls)
            h(ec, nullptr);
        for (auto& [h, ec] : a.statuses)
            h(ec);
    }

    mailbox_fsm::admission call(fsm_actions& a, std::uint64_t id, time_point now,
                                std::chrono::milliseconds timeout = 30s, std::size_t link_bytes = 0,
                                std::size_t pad = 0)
    {
        frame f = request_frame(id, pad);
        auto h = handler(id);
        auto r = fsm.call(a, now, id, f, now + timeout, h, link_bytes);
        if (r.what == admit::failed)
            h(r.ec, nullptr);
        return r;
    }

    mailbox_fsm::admission notify(fsm_actions& a, time_point now, std::size_t link_bytes = 0,
                                  std::size_t pad = 0)
    {
        frame f;
        mailroom::protocol::encode_notify(
            f, {.server_type = "math", .service = "calc", .method = "add"},
            std::tuple{std::string(pad, 'x')});
        mailroom::detail::status_handler h = [this](std::error_code ec) { notified.push_back(ec); };
        auto r = fsm.notify(a, now, f, h, link_bytes);
        if (r.what != admit::queued)
            h(r.ec);
        return r;
    }

    /// Call 1 queued, connected, acked: the link is open and call 1 was sent.
    std::uint64_t open_with_one_call(time_point now = t0)
    {
        fsm_actions a;
        call(a, 1, now);
        const auto gen = a.connect_gen;
        fsm_actions c;
        fsm.on_connected(c, now, gen, {});
        fsm_actions h;
        fsm.on_message(h, now, gen, {}, hello_ack());
        EXPECT_TRUE(h.flushed);
        fsm_actions f;
        fsm.on_flushed(f, now);
        EXPECT_TRUE(fsm.open());
        return gen;
    }
};

TEST_F(fsm_fixture, AFirstCallConnectsLazilyAndWaitsForTheLink)
{
    fsm_actions a;
    EXPECT_EQ(call(a, 1, t0).what, admit::queued);
    EXPECT_EQ(a.connect_gen, 1u);
    EXPECT_EQ(a.connect_timer, t0 + 1000ms) << "the connect timeout starts";
    EXPECT_EQ(a.call_timer, t0 + 30s);
    EXPECT_TRUE(a.sends.empty());

    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0).what, admit::queued);
    EXPECT_EQ(b.connect_gen, 0u) << "one mail box per server";
    EXPECT_FALSE(b.call_timer) << "a later deadline leaves the timer as it is";
    EXPECT_EQ(fsm.pending(), 2u);
}

TEST_F(fsm_fixture, TheHandshakeOpensTheLinkAndQueuedCallsLeaveInOrderWithTheTimeLeft)
{
    fsm_actions a;
    call(a, 1, t0, 1000ms);
    call(a, 2, t0, 2000ms);
    notify(a, t0);
    fsm_actions c;
    fsm.on_connected(c, t0 + 100ms, a.connect_gen, {});
    sent_frames hello(c);
    ASSERT_EQ(hello.msgs.size(), 1u);
    EXPECT_EQ(hello.msgs[0].kind, message_kind::hello);
    EXPECT_EQ(hello.msgs[0].hello.peer_id, "client-1");
    EXPECT_FALSE(fsm.open());

    fsm_actions h;
    fsm.on_message(h, t0 + 200ms, a.connect_gen, {}, hello_ack());
    EXPECT_TRUE(h.cancel_connect_timer);
    EXPECT_TRUE(h.flushed);
    sent_frames out(h);
    ASSERT_EQ(out.msgs.size(), 3u);
    EXPECT_EQ(out.msgs[0].request.id, 1u);
    EXPECT_EQ(out.msgs[0].request.timeout_ms, 800u);
    EXPECT_EQ(out.msgs[1].request.id, 2u);
    EXPECT_EQ(out.msgs[1].request.timeout_ms, 1800u);
    EXPECT_EQ(out.msgs[2].kind, message_kind::notify);
    complete(h);
    EXPECT_EQ(notified, std::vector<std::error_code>{std::error_code{}});

    // Until the driver reports the flush, calls queue behind it (no call overtakes it).
    fsm_actions during;
    EXPECT_EQ(call(during, 3, t0 + 200ms).what, admit::queued);
    EXPECT_EQ(during.connect_gen, 0u);
    fsm_actions f;
    fsm.on_flushed(f, t0 + 300ms);
    sent_frames rest(f);
    ASSERT_EQ(rest.msgs.size(), 1u);
    EXPECT_EQ(rest.msgs[0].request.id, 3u);
    EXPECT_TRUE(f.flushed);
    fsm_actions g;
    fsm.on_flushed(g, t0 + 300ms);
    EXPECT_TRUE(g.sends.empty());
    EXPECT_FALSE(g.flushed);
    EXPECT_TRUE(fsm.open());

    fsm_actions now;
    auto r = call(now, 4, t0 + 400ms, 5000ms);
    EXPECT_EQ(r.what, admit::send);
    EXPECT_EQ(r.timeout_ms, 5000u);
    EXPECT_TRUE(now.sends.empty()) << "the caller sends its own frame";
    EXPECT_FALSE(now.more) << "the usual call asks the driver for nothing else";
}

/// A protocol without a handshake (a queue, pomelo-rpc): the native one minus its hello.
class no_hello_protocol final : public mailroom::wire_protocol {
public:
    std::string_view name() const noexcept override { return "no-hello"; }
    mailroom::value_format format() const noexcept override
    {
        return mailroom::value_format::msgpack;
    }
    std::error_code encode_request(frame& out, std::uint64_t id,
                                   const mailroom::protocol::method_path& path,
                                   const mailroom::value_source& args,
                                   std::uint32_t timeout_ms) const override
    {
        return native().encode_request(out, id, path, args, timeout_ms);
    }
    bool patch_request_timeout(frame& f, std::uint32_t timeout_ms) const noexcept override
    {
        return native().patch_request_timeout(f, timeout_ms);
    }
    std::error_code encode_notify(frame& out, const mailroom::protocol::method_path& path,
                                  const mailroom::value_source& args) const override
    {
        return native().encode_notify(out, path, args);
    }
    std::error_code encode_response(frame& out, std::uint64_t id,
                                    const mailroom::value_source* result) const override
    {
        return native().encode_response(out, id, result);
    }
    void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                               std::string_view message) const override
    {
        native().encode_error_response(out, id, code, message);
    }
    std::error_code decode(std::span<const char> body, msgpack::zone& zone,
                           message& out) const noexcept override
    {
        return native().decode(body, zone, out);
    }

private:
    static const mailroom::wire_protocol& native() { return *mailroom::native_protocol(); }
};

TEST(MailboxFsmProtocol, WithoutAHandshakeTheLinkOpensWhenConnectedAndQueuedCallsLeave)
{
    no_hello_protocol p;
    auto c = config();
    c.protocol = &p;
    mailbox_fsm fsm{c};
    fsm_actions a;
    frame f = request_frame(1);
    mailroom::detail::call_handler h = [](std::error_code, const mailroom::protocol::response_view*) {};
    ASSERT_EQ(fsm.call(a, t0, 1, f, t0 + 1000ms, h, 0).what, admit::queued);
    fsm_actions conn;
    fsm.on_connected(conn, t0 + 100ms, a.connect_gen, {});
    EXPECT_TRUE(conn.cancel_connect_timer) << "no hello, no hello_ack to wait for";
    EXPECT_TRUE(conn.flushed);
    sent_frames out(conn);
    ASSERT_EQ(out.msgs.size(), 1u) << "the queued call, and no hello before it";
    EXPECT_EQ(out.msgs[0].kind, message_kind::request);
    EXPECT_EQ(out.msgs[0].request.timeout_ms, 900u);
    fsm_actions flushed;
    fsm.on_flushed(flushed, t0 + 100ms);
    EXPECT_TRUE(fsm.open());
}

TEST_F(fsm_fixture, AResponseCompletesItsCallOnceAndALateOneIsCounted)
{
    const auto gen = open_with_one_call();
    fsm_actions r;
    fsm.on_message(r, t0, gen, {}, response(1));
    ASSERT_TRUE(r.responded);
    EXPECT_FALSE(r.more) << "the usual response asks the driver for nothing else";
    complete(r);
    EXPECT_EQ(done.at(1), std::error_code{});
    fsm_actions again;
    fsm.on_message(again, t0, gen, {}, response(1));
    EXPECT_FALSE(again.responded);
    EXPECT_EQ(again.late_replies, 1u);
    EXPECT_EQ(fsm.pending(), 0u);
}

TEST_F(fsm_fixture, BoundsFailTheCallBeyondThemWithQueueFull)
{
    auto c = config();
    c.max_pending = 2;
    fsm = mailbox_fsm(c);
    fsm_actions a;
    EXPECT_EQ(call(a, 1, t0).what, admit::queued);
    EXPECT_EQ(call(a, 2, t0).what, admit::queued);
    EXPECT_EQ(call(a, 3, t0).ec, error::queue_full);
    EXPECT_EQ(notify(a, t0).ec, error::queue_full) << "notifies share the connect queue";
    EXPECT_EQ(fsm.pending(), 2u);

    c = config();
    c.max_in_flight = 1;
    fsm = mailbox_fsm(c);
    done.clear();
    open_with_one_call();
    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0).ec, error::queue_full);

    c = config();
    c.max_queued_bytes = 1000;
    fsm = mailbox_fsm(c);
    done.clear();
    fsm_actions d;
    EXPECT_EQ(call(d, 1, t0, 30s, 0, 600).what, admit::queued);
    EXPECT_EQ(call(d, 2, t0, 30s, 0, 600).ec, error::queue_full) << "bytes queued while connecting";
}

// A notify used to skip the byte bound; a flood of them overflowed the mail box's write queue,
// which closes the link and fails every call in flight.
TEST_F(fsm_fixture, ANotifyBeyondTheByteBoundFailsAloneWithQueueFull)
{
    const auto gen = open_with_one_call();
    fsm_actions a;
    EXPECT_EQ(notify(a, t0, 9'990, 100).ec, error::queue_full);
    EXPECT_EQ(notify(a, t0, 100, 100).what, admit::send);
    EXPECT_EQ(call(a, 2, t0, 30s, 9'990, 100).ec, error::queue_full);
    EXPECT_FALSE(a.close_box);
    EXPECT_FALSE(done.count(1)) << "the call in flight is untouched";
    fsm_actions r;
    fsm.on_message(r, t0, gen, {}, response(1));
    EXPECT_TRUE(r.responded);
}

TEST_F(fsm_fixture, RefusedConnectsAreRetriedWithDoublingDelaysUntilTheConnectTimeout)
{
    fsm_actions a;
    call(a, 1, t0);
    const auto refused = std::make_error_code(std::errc::connection_refused);
    auto now = t0;
    auto gen = a.connect_gen;
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 100 && !done.count(1); ++i) {
        fsm_actions r;
        fsm.on_connected(r, now, gen, refused);
        EXPECT_TRUE(r.close_box);
        complete(r);
        if (done.count(1))
            break;
        ASSERT_TRUE(r.connect_timer);
        delays.push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(*r.connect_timer - now));
        now = *r.connect_timer;
        fsm_actions t;
        fsm.on_connect_timer(t, now);
        ASSERT_NE(t.connect_gen, 0u);
        EXPECT_GT(t.connect_gen, gen);
        EXPECT_EQ(t.connect_timer, t0 + 1000ms);
        gen = t.connect_gen;
    }
    ASSERT_GE(delays.size(), 4u);
    EXPECT_EQ(delays[0], 10ms);
    EXPECT_EQ(delays[1], 20ms);
    EXPECT_EQ(delays[2], 40ms);
    EXPECT_EQ(delays[3], 40ms) << "capped at max_reconnect_delay";
    EXPECT_EQ(done.at(1), error::connect_failed);
    EXPECT_LE(now, t0 + 1000ms);
}

TEST_F(fsm_fixture, TheConnectTimeoutFailsQueuedCallsAndNotifies)
{
    fsm_actions a;
    call(a, 1, t0);
    notify(a, t0);
    fsm_actions t;
    fsm.on_connect_timer(t, t0 + 1000ms);
    EXPECT_TRUE(t.close_box);
    ASSERT_EQ(t.logs.size(), 1u);
    EXPECT_NE(t.logs[0].second.find("could not connect to math-1"), std::string::npos);
    complete(t);
    EXPECT_EQ(done.at(1), error::connect_failed);
    EXPECT_EQ(notified, std::vector<std::error_code>{error::connect_failed});

    // The next call starts a new cycle with a new mail box.
    fsm_actions b;
    call(b, 2, t0 + 2s);
    EXPECT_GT(b.connect_gen, a.connect_gen);
}

TEST_F(fsm_fixture, AVersionMismatchFailsQueuedCallsAtOnce)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, t0, a.connect_gen, {},
                   hello_ack("math-1", static_cast<int>(error::version_mismatch)));
    EXPECT_TRUE(h.close_box);
    EXPECT_TRUE(h.sends.empty());
    complete(h);
    EXPECT_EQ(done.at(1), error::version_mismatch);
}

TEST_F(fsm_fixture, AServerAnsweringWithAnotherIdIsWrongServerAndGetsNoCall)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, t0, a.connect_gen, {}, hello_ack("math-2"));
    EXPECT_TRUE(h.close_box);
    EXPECT_TRUE(h.sends.empty()) << "no call reaches the wrong server";
    EXPECT_TRUE(h.cancel_connect_timer);
    complete(h);
    EXPECT_EQ(done.at(1), error::wrong_server);
}

TEST_F(fsm_fixture, AHandshakeAnsweredWithAnythingButAnAckFailsTheCycle)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, t0, a.connect_gen, {}, response(1));
    complete(h);
    EXPECT_EQ(done.at(1), error::connect_failed);
}

/// A category named like a transport's, for the classification.
class named_category final : public std::error_category {
public:
    explicit named_category(const char* n) : name_(n) {}
    const char* name() const noexcept override { return name_; }
    std::string message(int ev) const override
    {
        return std::string(name_) + " " + std::to_string(ev);
    }

private:
    const char* name_;
};

/// A transport's category that declares its codes 2 and 3 permanent, as ws does.
class declares_permanent final : public std::error_category {
public:
    const char* name() const noexcept override { return "some.transport"; }
    std::string message(int ev) const override { return "some.transport " + std::to_string(ev); }
    bool equivalent(int ev, const std::error_condition& cond) const noexcept override
    {
        if (cond == mailroom::condition::permanent)
            return ev == 2 || ev == 3;
        return default_error_condition(ev) == cond;
    }
};

TEST(ConnectErrors, OnlyFailuresThatCannotHealArePermanent)
{
    using mailroom::detail::is_permanent_connect_error;
    static const named_category tls("mailroom.tls"), ws("mailroom.ws"), other("other");
    static const declares_permanent declaring;
    EXPECT_TRUE(is_permanent_connect_error(error::version_mismatch));
    EXPECT_TRUE(is_permanent_connect_error(error::wrong_server));
    EXPECT_FALSE(is_permanent_connect_error(error::connect_failed));
    EXPECT_FALSE(is_permanent_connect_error(error::protocol_error));
    EXPECT_FALSE(is_permanent_connect_error(std::make_error_code(std::errc::connection_refused)));
    EXPECT_FALSE(is_permanent_connect_error(std::make_error_code(std::errc::timed_out)));
    EXPECT_FALSE(is_permanent_connect_error({}));
    // A transport declares its permanent codes through condition::permanent (ws: 401, 403,
    // 404; tcp's TLS: 2-7; tested with the real categories in tests/ws and tests/tcp); the
    // category's name alone says nothing, not even mailroom's own transports' names.
    for (int ev = 1; ev <= 7; ++ev)
        EXPECT_FALSE(is_permanent_connect_error(std::error_code(ev, tls))) << ev;
    EXPECT_FALSE(is_permanent_connect_error(std::error_code(1, declaring)));
    EXPECT_TRUE(is_permanent_connect_error(std::error_code(2, declaring)));
    EXPECT_TRUE(is_permanent_connect_error(std::error_code(3, declaring)));
    EXPECT_FALSE(is_permanent_connect_error(std::error_code(2, ws)));
    EXPECT_FALSE(is_permanent_connect_error(std::error_code(2, other)));
}

TEST_F(fsm_fixture, AnUntrustedCertificateFailsQueuedCallsAtOnceInsteadOfRetrying)
{
    static const declares_permanent tls; // as tcp's TLS category declares code 2
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, std::error_code(2, tls));
    EXPECT_FALSE(c.connect_timer) << "no retry";
    EXPECT_TRUE(c.cancel_connect_timer);
    complete(c);
    EXPECT_EQ(done.at(1), error::connect_failed);
    ASSERT_FALSE(c.logs.empty());
    EXPECT_NE(c.logs.back().second.find("some.transport 2"), std::string::npos)
        << "the log names the reason";
}

TEST_F(fsm_fixture, AFactoryThatFailsFailsQueuedCallsAtOnce)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions f;
    fsm.on_factory_failed(f, t0, a.connect_gen, "no CA bundle");
    EXPECT_FALSE(f.close_box) << "there is no mail box to close";
    complete(f);
    EXPECT_EQ(done.at(1), error::connect_failed);
    EXPECT_EQ(fsm.generation(), 0u);
}

TEST_F(fsm_fixture, AConnectThatCompletesAfterShutdownIsIgnored)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions s;
    fsm.shutdown(s, error::cancelled);
    EXPECT_TRUE(s.close_box);
    complete(s);
    EXPECT_EQ(done.at(1), error::cancelled);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    EXPECT_TRUE(c.sends.empty()) << "no hello on a link of a closed server";
    EXPECT_EQ(fsm.generation(), 0u);
    fsm_actions later;
    EXPECT_EQ(call(later, 2, t0).ec, error::cancelled);
    EXPECT_EQ(later.connect_gen, 0u);
}

TEST_F(fsm_fixture, EventsOfAnOlderMailBoxAreIgnored)
{
    const auto old_gen = open_with_one_call();
    fsm_actions drop;
    fsm.on_close(drop, t0, old_gen, std::make_error_code(std::errc::connection_reset));
    complete(drop);
    EXPECT_EQ(done.at(1), error::disconnected);

    fsm_actions a;
    call(a, 2, t0);
    ASSERT_GT(a.connect_gen, old_gen);
    fsm_actions stale;
    fsm.on_message(stale, t0, old_gen, {}, response(2));
    fsm.on_close(stale, t0, old_gen, std::make_error_code(std::errc::connection_reset));
    fsm.on_connected(stale, t0, old_gen, {});
    EXPECT_FALSE(stale.responded);
    EXPECT_TRUE(stale.calls.empty());
    EXPECT_TRUE(stale.sends.empty());
    EXPECT_FALSE(stale.close_box);
    EXPECT_FALSE(done.count(2));
    EXPECT_EQ(fsm.generation(), a.connect_gen);
}

TEST_F(fsm_fixture, CancelBeforeTheResponseWinsAndTheResponseIsLate)
{
    const auto gen = open_with_one_call();
    fsm_actions c;
    fsm.cancel(c, 1);
    complete(c);
    EXPECT_EQ(done.at(1), error::cancelled);
    EXPECT_EQ(std::error_code(done.at(1)), std::errc::operation_canceled);
    fsm_actions r;
    fsm.on_message(r, t0, gen, {}, response(1));
    EXPECT_FALSE(r.responded);
    EXPECT_EQ(r.late_replies, 1u);
}

TEST_F(fsm_fixture, AResponseBeforeTheCancelWinsAndTheCancelDoesNothing)
{
    const auto gen = open_with_one_call();
    fsm_actions r;
    fsm.on_message(r, t0, gen, {}, response(1));
    complete(r);
    fsm_actions c;
    fsm.cancel(c, 1);
    EXPECT_TRUE(c.calls.empty());
    EXPECT_EQ(done.at(1), std::error_code{});
}

TEST_F(fsm_fixture, ACancelledQueuedCallIsNotSentWhenTheLinkOpens)
{
    fsm_actions a;
    call(a, 1, t0);
    call(a, 2, t0);
    fsm_actions c;
    fsm.cancel(c, 1);
    complete(c);
    fsm_actions con;
    fsm.on_connected(con, t0, a.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, t0, a.connect_gen, {}, hello_ack());
    sent_frames out(h);
    ASSERT_EQ(out.msgs.size(), 1u);
    EXPECT_EQ(out.msgs[0].request.id, 2u);
}

TEST_F(fsm_fixture, ATimeoutBeforeTheResponseWinsAndTheResponseIsLate)
{
    const auto gen = open_with_one_call();
    fsm_actions early;
    fsm.on_call_timer(early, t0 + 29s);
    EXPECT_TRUE(early.calls.empty());
    EXPECT_EQ(early.call_timer, t0 + 30s);
    fsm_actions t;
    fsm.on_call_timer(t, t0 + 30s);
    complete(t);
    EXPECT_EQ(done.at(1), error::timeout);
    EXPECT_FALSE(t.call_timer) << "nothing left to time";
    fsm_actions r;
    fsm.on_message(r, t0 + 31s, gen, {}, response(1));
    EXPECT_FALSE(r.responded);
    EXPECT_EQ(r.late_replies, 1u);
}

TEST_F(fsm_fixture, AShorterDeadlineRearmsTheCallTimerEarlier)
{
    fsm_actions a;
    call(a, 1, t0, 10s);
    EXPECT_EQ(a.call_timer, t0 + 10s);
    fsm_actions b;
    call(b, 2, t0, 10ms);
    EXPECT_EQ(b.call_timer, t0 + 10ms);
    fsm_actions t;
    fsm.on_call_timer(t, t0 + 10ms);
    complete(t);
    EXPECT_EQ(done.at(2), error::timeout);
    EXPECT_FALSE(done.count(1));
    EXPECT_EQ(t.call_timer, t0 + 10s);
}

TEST_F(fsm_fixture, ALinkClosedDuringTheHandshakeIsRetried)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    fsm_actions cl;
    fsm.on_close(cl, t0 + 5ms, a.connect_gen, std::make_error_code(std::errc::connection_reset));
    EXPECT_TRUE(cl.close_box);
    EXPECT_EQ(cl.connect_timer, t0 + 15ms) << "retried after the first delay";
    EXPECT_TRUE(cl.calls.empty());
    fsm_actions t;
    fsm.on_connect_timer(t, t0 + 15ms);
    EXPECT_GT(t.connect_gen, a.connect_gen);
    // Near the deadline a close fails the cycle.
    fsm_actions c2;
    fsm.on_connected(c2, t0 + 995ms, t.connect_gen, {});
    fsm_actions cl2;
    fsm.on_close(cl2, t0 + 995ms, t.connect_gen, std::make_error_code(std::errc::connection_reset));
    complete(cl2);
    EXPECT_EQ(done.at(1), error::connect_failed);
}

TEST_F(fsm_fixture, ALostLinkFailsSentCallsWithDisconnectedAndQueuedOnesWithNotSent)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions c;
    fsm.on_connected(c, t0, a.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, t0, a.connect_gen, {}, hello_ack());
    // Call 2 arrives while call 1's frame is being handed to the mail box: it waits.
    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0).what, admit::queued);
    fsm_actions cl;
    fsm.on_close(cl, t0, a.connect_gen, mailroom::make_error_code(error::queue_full));
    EXPECT_TRUE(cl.link_queue_full);
    EXPECT_TRUE(cl.close_box);
    complete(cl);
    EXPECT_EQ(done.at(1), error::disconnected);
    EXPECT_EQ(done.at(2), error::not_sent);
    fsm_actions f;
    fsm.on_flushed(f, t0);
    EXPECT_TRUE(f.sends.empty());
}

TEST_F(fsm_fixture, AStalledLinkAdmitsNoNewCallUntilItAnswersAndALostLinkClearsIt)
{
    const auto gen = open_with_one_call();
    fsm_actions s;
    fsm.on_stall(s, gen, true);
    EXPECT_TRUE(fsm.stalled());
    ASSERT_EQ(s.logs.size(), 1u) << "one warning when it stalls";
    EXPECT_EQ(s.logs[0].first, mailroom::log_level::warning);
    // New calls and notifies are not put on the link: not sent, so failover may move them.
    fsm_actions c;
    EXPECT_EQ(call(c, 2, t0).what, admit::failed);
    EXPECT_EQ(done.at(2), error::not_sent);
    fsm_actions n;
    EXPECT_EQ(notify(n, t0).what, admit::failed);
    ASSERT_EQ(notified.size(), 1u);
    EXPECT_EQ(notified[0], error::not_sent);
    EXPECT_FALSE(done.count(1)) << "the call already sent still waits";

    fsm_actions again;
    fsm.on_stall(again, gen, true);
    EXPECT_TRUE(again.logs.empty()) << "no line per report";
    fsm_actions stale;
    fsm.on_stall(stale, gen + 1, false);
    EXPECT_TRUE(fsm.stalled()) << "another generation's report is ignored";

    fsm_actions u;
    fsm.on_stall(u, gen, false);
    EXPECT_FALSE(fsm.stalled());
    fsm_actions c3;
    EXPECT_EQ(call(c3, 3, t0).what, admit::send);

    // Stalled, then the link closes: the next link starts unstalled.
    fsm_actions s2;
    fsm.on_stall(s2, gen, true);
    fsm_actions cl;
    fsm.on_close(cl, t0, gen, mailroom::make_error_code(error::keepalive_timeout));
    complete(cl);
    EXPECT_FALSE(fsm.stalled());
    EXPECT_EQ(done.at(1), error::disconnected);
    EXPECT_EQ(done.at(3), error::disconnected);
    fsm_actions c4;
    EXPECT_EQ(call(c4, 4, t0).what, admit::queued) << "connects again";
}

TEST_F(fsm_fixture, AMalformedMessageDropsTheLink)
{
    const auto gen = open_with_one_call();
    fsm_actions m;
    fsm.on_message(m, t0, gen, error::protocol_error, message{});
    EXPECT_TRUE(m.close_box);
    complete(m);
    EXPECT_EQ(done.at(1), error::disconnected);
}

TEST_F(fsm_fixture, APingIsAnsweredWithAPong)
{
    const auto gen = open_with_one_call();
    message ping;
    ping.kind = message_kind::ping;
    ping.nonce = 42;
    fsm_actions p;
    fsm.on_message(p, t0, gen, {}, ping);
    sent_frames out(p);
    ASSERT_EQ(out.msgs.size(), 1u);
    EXPECT_EQ(out.msgs[0].kind, message_kind::pong);
    EXPECT_EQ(out.msgs[0].nonce, 42u);
}

TEST_F(fsm_fixture, ARemovedServerLetsSentCallsFinishThenCloses)
{
    const auto gen = open_with_one_call();
    fsm_actions b;
    call(b, 2, t0);
    fsm_actions r;
    fsm.remove(r, t0, 3s);
    EXPECT_FALSE(r.close_box) << "calls in flight may still finish";
    EXPECT_EQ(r.connect_timer, t0 + 3s);
    EXPECT_TRUE(r.calls.empty());
    fsm_actions late;
    EXPECT_EQ(call(late, 3, t0).ec, error::not_sent) << "new calls are refused";
    fsm_actions n;
    EXPECT_EQ(notify(n, t0).ec, error::not_sent);

    fsm_actions one;
    fsm.on_message(one, t0 + 1s, gen, {}, response(1));
    complete(one);
    EXPECT_FALSE(one.close_box);
    fsm_actions two;
    fsm.on_message(two, t0 + 1s, gen, {}, response(2));
    complete(two);
    EXPECT_TRUE(two.close_box) << "the last answer closes the link";
    EXPECT_TRUE(two.cancel_connect_timer);
    EXPECT_TRUE(fsm.closed());
    EXPECT_EQ(done.at(1), std::error_code{});
    EXPECT_EQ(done.at(2), std::error_code{});
}

TEST_F(fsm_fixture, ARemovedServerFailsWhatIsLeftWithDisconnectedAtTheDrainTimeout)
{
    open_with_one_call();
    fsm_actions r;
    fsm.remove(r, t0, 3s);
    fsm_actions t;
    fsm.on_connect_timer(t, t0 + 3s);
    EXPECT_TRUE(t.close_box);
    complete(t);
    EXPECT_EQ(done.at(1), error::disconnected);
    EXPECT_TRUE(fsm.closed());
}

TEST_F(fsm_fixture, ARemovedServerFailsCallsNotSentAtOnce)
{
    fsm_actions a;
    call(a, 1, t0);
    notify(a, t0);
    fsm_actions r;
    fsm.remove(r, t0, 3s);
    EXPECT_TRUE(r.close_box);
    complete(r);
    EXPECT_EQ(done.at(1), error::not_sent);
    EXPECT_EQ(notified, std::vector<std::error_code>{error::not_sent});
    EXPECT_TRUE(fsm.closed());
}

TEST_F(fsm_fixture, ShutdownFailsEverythingWithItsReasonOnceEvenWhileDraining)
{
    open_with_one_call();
    fsm_actions r;
    fsm.remove(r, t0, 3s);
    fsm_actions s;
    fsm.shutdown(s, error::cancelled);
    complete(s);
    EXPECT_EQ(done.at(1), error::cancelled);
    fsm_actions again;
    fsm.shutdown(again, error::cancelled);
    EXPECT_TRUE(again.calls.empty());
    EXPECT_FALSE(again.close_box);
}

TEST_F(fsm_fixture, RefusesIdZeroAndADuplicateId)
{
    fsm_actions a;
    EXPECT_EQ(call(a, 0, t0).ec, error::protocol_error);
    done.erase(0);
    EXPECT_EQ(call(a, 1, t0).what, admit::queued);
    frame f = request_frame(1);
    mailroom::detail::call_handler h = [](std::error_code,
                                          const mailroom::protocol::response_view*) {};
    EXPECT_EQ(fsm.call(a, t0, 1, f, t0 + 1s, h, 0).ec, error::protocol_error);
}

/// A machine that marks its server down after a failed cycle and probes it after 100 ms,
/// doubling to 400 ms.
mailroom::detail::mailbox_fsm_config probing_config()
{
    auto c = config();
    c.probe_delay = 100ms;
    c.max_probe_delay = 400ms;
    c.jitter_seed = 42;
    return c;
}

struct down_fixture : fsm_fixture {
    down_fixture() : fsm_fixture(probing_config()) {}

    /// Fails the current cycle at its connect deadline; returns the probe's time.
    time_point fail_cycle_at(time_point now)
    {
        fsm_actions t;
        fsm.on_connect_timer(t, now);
        complete(t);
        EXPECT_TRUE(fsm.down());
        EXPECT_TRUE(t.connect_timer) << "a probe is scheduled";
        return t.connect_timer ? *t.connect_timer : now;
    }
};

TEST_F(down_fixture, AFailedCycleMarksTheServerDownAndCallsFailAtOnceUntilAProbeConnects)
{
    fsm_actions a;
    call(a, 1, t0);
    fsm_actions t;
    fsm.on_connect_timer(t, t0 + 1000ms);
    complete(t);
    EXPECT_EQ(done.at(1), error::connect_failed);
    EXPECT_TRUE(fsm.down());
    ASSERT_TRUE(t.connect_timer);
    const auto probe = *t.connect_timer;
    EXPECT_GE(probe, t0 + 1000ms + 50ms);
    EXPECT_LE(probe, t0 + 1000ms + 100ms);
    ASSERT_FALSE(t.logs.empty());
    EXPECT_NE(t.logs.back().second.find("marked down"), std::string::npos) << t.logs.back().second;

    // Down: a call and a notify fail at once, never sent, and start no connect of their own.
    fsm_actions b;
    EXPECT_EQ(call(b, 2, t0 + 1010ms).what, admit::failed);
    EXPECT_EQ(done.at(2), error::connect_failed);
    EXPECT_EQ(notify(b, t0 + 1010ms).what, admit::failed);
    EXPECT_EQ(notified, std::vector<std::error_code>{error::connect_failed});
    EXPECT_EQ(b.connect_gen, 0u);

    // The probe: a cycle without calls; calls made during it still fail at once.
    fsm_actions p;
    fsm.on_connect_timer(p, probe);
    ASSERT_NE(p.connect_gen, 0u);
    EXPECT_EQ(p.connect_timer, probe + 1000ms);
    fsm_actions d;
    EXPECT_EQ(call(d, 3, probe).what, admit::failed);
    fsm_actions c;
    fsm.on_connected(c, probe, p.connect_gen, {});
    fsm_actions h;
    fsm.on_message(h, probe, p.connect_gen, {}, hello_ack());
    EXPECT_FALSE(fsm.down());
    EXPECT_TRUE(fsm.open());
    ASSERT_FALSE(h.logs.empty());
    EXPECT_NE(h.logs.back().second.find("reachable again"), std::string::npos);

    // Up again: calls go out.
    fsm_actions e;
    EXPECT_EQ(call(e, 4, probe + 1ms).what, admit::send);
}

TEST_F(down_fixture, ProbeDelaysDoubleToTheirCapWithJitterAndResetOnceUp)
{
    fsm_actions a;
    call(a, 1, t0);
    auto now = t0 + 1000ms;
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 5; ++i) {
        const auto probe = fail_cycle_at(now);
        delays.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(probe - now));
        fsm_actions p;
        fsm.on_connect_timer(p, probe); // the probe's cycle starts...
        ASSERT_NE(p.connect_gen, 0u);
        now = probe + 1000ms;           // ...and times out
    }
    const std::chrono::milliseconds cap[] = {100ms, 200ms, 400ms, 400ms, 400ms};
    for (std::size_t i = 0; i < delays.size(); ++i) {
        EXPECT_GE(delays[i], cap[i] / 2) << i;
        EXPECT_LE(delays[i], cap[i]) << i;
    }
    EXPECT_EQ(std::set<std::chrono::milliseconds>(delays.begin() + 2, delays.end()).size() > 1,
              true)
        << "jittered: the capped delays are not all equal";
}

TEST_F(down_fixture, AServerRemovedWhileDownClosesAndItsProbeDoesNothing)
{
    fsm_actions a;
    call(a, 1, t0);
    const auto probe = fail_cycle_at(t0 + 1000ms);
    fsm_actions r;
    fsm.remove(r, t0 + 1001ms, 5s);
    EXPECT_TRUE(fsm.closed());
    fsm_actions p;
    fsm.on_connect_timer(p, probe);
    EXPECT_EQ(p.connect_gen, 0u);
    fsm_actions b;
    EXPECT_EQ(call(b, 2, probe).what, admit::failed);
    EXPECT_EQ(done.at(2), error::not_sent);
}

} // namespace
