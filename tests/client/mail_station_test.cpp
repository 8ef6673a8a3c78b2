#include <mailroom/client/mail_station.hpp>
// Test that header file is self-contained.

#include "support/fake_transport.hpp"

#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <set>
#include <tuple>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::fake_transport;
using mailroom::test::run_until;
namespace asio = boost::asio;

const mailroom::protocol::method_path add_path{.server_type = "math", .service = "calc",
                                               .method = "add"};

/// A station with one server of type "math" on the fake transport, and a proxy over it.
struct station_fixture : ::testing::Test {
    asio::io_context ioc;
    fake_transport transport;
    std::optional<mailroom::mail_station> station;
    mailroom::router router;
    std::optional<mailroom::proxy> rpc;

    void make(mailroom::mail_station_options opts = {})
    {
        opts.log.min_level = mailroom::log_level::off;
        station.emplace(ioc.get_executor(), opts);
        station->add_transport("fake", transport.factory());
        station->add_server({.id = "math-1", .server_type = "math", .transport = "fake"});
        rpc.emplace(*station, router);
    }

    void SetUp() override { make(); }

    /// Starts an int call; the result lands in `out`.
    void call(std::optional<std::tuple<std::error_code, int>>& out,
              mailroom::call_options options = {})
    {
        rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, options,
                             [&out](std::error_code ec, int v) {
                                 ASSERT_FALSE(out) << "completed twice";
                                 out.emplace(ec, v);
                             });
    }
};

using result = std::optional<std::tuple<std::error_code, int>>;

TEST_F(station_fixture, QueuesCallsWhileTheMailboxConnectsThenSendsThemInCallOrder)
{
    result r1, r2, r3;
    call(r1);
    call(r2);
    call(r3);
    ioc.poll();
    auto box = transport.last();
    ASSERT_TRUE(box);
    EXPECT_EQ(transport.created(), 1u) << "one mail box per server";
    EXPECT_EQ(box->sent_count(), 0u) << "nothing is sent before the link is open";

    box->finish_connect();
    auto hello = box->sent_messages();
    ASSERT_EQ(hello.size(), 1u);
    EXPECT_EQ(hello[0].kind, mailroom::protocol::message_kind::hello);

    box->ack_hello();
    auto ids = box->sent_request_ids();
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_LT(ids[0], ids[1]);
    EXPECT_LT(ids[1], ids[2]);

    box->respond(ids[2], 30);
    box->respond(ids[0], 10);
    box->respond(ids[1], 20);
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2 && r3; }));
    EXPECT_EQ(*r1, std::make_tuple(std::error_code{}, 10));
    EXPECT_EQ(*r2, std::make_tuple(std::error_code{}, 20));
    EXPECT_EQ(*r3, std::make_tuple(std::error_code{}, 30));
    EXPECT_EQ(station->pending(), 0u);
}

TEST_F(station_fixture, FailsTheCallBeyondThePendingBoundWithQueueFull)
{
    make({.max_pending_per_server = 2});
    result r1, r2, r3;
    call(r1);
    call(r2);
    call(r3);
    ASSERT_TRUE(run_until(ioc, [&] { return r3.has_value(); }));
    EXPECT_EQ(std::get<0>(*r3), error::queue_full);
    EXPECT_FALSE(r1);
    EXPECT_FALSE(r2);
    EXPECT_EQ(station->pending(), 2u);
}

TEST_F(station_fixture, FailsQueuedCallsWithConnectFailedWhenTheConnectTimesOut)
{
    make({.connect_timeout = 30ms});
    result r1, r2;
    call(r1);
    call(r2);
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2; }));
    EXPECT_EQ(std::get<0>(*r1), error::connect_failed);
    EXPECT_EQ(std::get<0>(*r2), error::connect_failed);
    EXPECT_TRUE(transport.last()->closed());
}

TEST_F(station_fixture, RetriesRefusedConnectsWithinTheConnectTimeout)
{
    make({.connect_timeout = 10s, .reconnect_delay = 1ms});
    result r;
    call(r);
    ioc.poll();
    transport.last()->finish_connect(std::make_error_code(std::errc::connection_refused));
    ASSERT_TRUE(run_until(ioc, [&] { return transport.created() == 2; }));
    auto box = transport.last();
    box->open();
    auto ids = box->sent_request_ids();
    ASSERT_EQ(ids.size(), 1u);
    box->respond(ids[0], 3);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 3));
}

TEST_F(station_fixture, FailsInFlightCallsWithDisconnectedAndReconnectsOnTheNextCall)
{
    result r1;
    call(r1);
    ioc.poll();
    auto first = transport.last();
    first->open();
    first->drop(std::make_error_code(std::errc::connection_reset));
    ASSERT_TRUE(run_until(ioc, [&] { return r1.has_value(); }));
    EXPECT_EQ(std::get<0>(*r1), error::disconnected);

    result r2;
    call(r2);
    ioc.poll();
    ASSERT_EQ(transport.created(), 2u);
    auto second = transport.last();
    second->open();
    second->respond(second->sent_request_ids().at(0), 7);
    ASSERT_TRUE(run_until(ioc, [&] { return r2.has_value(); }));
    EXPECT_EQ(*r2, std::make_tuple(std::error_code{}, 7));
}

TEST_F(station_fixture, TimesOutACallAndDropsItsLateReply)
{
    result r;
    call(r, {.timeout = 20ms});
    ioc.poll();
    auto box = transport.last();
    box->open();
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::timeout);

    box->respond(box->sent_request_ids().at(0), 3); // late: must be ignored
    ioc.poll();
    EXPECT_EQ(std::get<0>(*r), error::timeout);
    EXPECT_EQ(station->pending(), 0u);
}

TEST_F(station_fixture, AShortTimeoutFiresBeforeALongerOneArmedEarlier)
{
    result slow, fast;
    call(slow, {.timeout = 10s});
    call(fast, {.timeout = 10ms});
    ioc.poll();
    transport.last()->open();
    ASSERT_TRUE(run_until(ioc, [&] { return fast.has_value(); }));
    EXPECT_EQ(std::get<0>(*fast), error::timeout);
    EXPECT_FALSE(slow);
}

TEST_F(station_fixture, CloseCompletesPendingCallsAndLaterCallsWithCancelled)
{
    result queued, inflight;
    call(inflight);
    ioc.poll();
    transport.last()->open();
    station->close();
    call(queued);
    ASSERT_TRUE(run_until(ioc, [&] { return queued && inflight; }));
    EXPECT_EQ(std::get<0>(*inflight), error::cancelled);
    EXPECT_EQ(std::get<0>(*queued), error::cancelled);
}

TEST_F(station_fixture, RemovingAServerFailsItsCallsNotSentThenItIsUnknown)
{
    result r1, r2;
    call(r1);
    ioc.poll();
    station->remove_server("math-1");
    rpc->async_call_to<int>("math-1", add_path, std::tuple{1, 2},
                            [&](std::error_code ec, int v) { r2.emplace(ec, v); });
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2; }));
    EXPECT_EQ(std::get<0>(*r1), error::not_sent) << "queued while connecting: safe to retry";
    EXPECT_EQ(std::get<0>(*r1), mailroom::condition::retryable);
    EXPECT_EQ(std::get<0>(*r2), error::unknown_server);
    EXPECT_TRUE(transport.last()->closed());
}

TEST_F(station_fixture, ARemovedServerStillAnswersCallsAlreadySentThenItsLinkCloses)
{
    result sent, queued_after;
    call(sent);
    ioc.poll();
    auto box = transport.last();
    box->open();
    station->remove_server("math-1");
    ioc.poll();
    EXPECT_FALSE(sent) << "a call in flight is not failed at once";
    EXPECT_EQ(station->pending(), 1u);
    EXPECT_FALSE(box->closed());
    rpc->async_call_to<int>("math-1", add_path, std::tuple{1, 2},
                            [&](std::error_code ec, int v) { queued_after.emplace(ec, v); });
    box->respond(box->sent_request_ids().at(0), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return sent && queued_after; }));
    EXPECT_EQ(*sent, std::make_tuple(std::error_code{}, 3));
    EXPECT_EQ(std::get<0>(*queued_after), error::unknown_server);
    EXPECT_TRUE(box->closed()) << "the last answer closes the link";
    EXPECT_EQ(station->pending(), 0u);
}

TEST_F(station_fixture, ARemovedServerFailsCallsStillUnansweredAfterTheDrainTimeout)
{
    make({.drain_timeout = 20ms});
    result sent;
    call(sent);
    ioc.poll();
    auto box = transport.last();
    box->open();
    station->remove_server("math-1");
    ASSERT_TRUE(run_until(ioc, [&] { return sent.has_value(); }));
    EXPECT_EQ(std::get<0>(*sent), error::disconnected);
    EXPECT_TRUE(box->closed());
}

TEST_F(station_fixture, ClosingTheStationEndsADrainWithCancelled)
{
    result sent;
    call(sent);
    ioc.poll();
    auto box = transport.last();
    box->open();
    station->remove_server("math-1");
    station->close();
    ASSERT_TRUE(run_until(ioc, [&] { return sent.has_value(); }));
    EXPECT_EQ(std::get<0>(*sent), error::cancelled);
    EXPECT_TRUE(box->closed());
}

// Only what a mail box is built from (id, address, transport and its options) needs a new
// link; a new weight or server type keeps the link and the calls on it.
TEST_F(station_fixture, ReplacingAServerWithANewWeightKeepsItsCallsAndItsMailBox)
{
    result r1, r2;
    call(r1);
    ioc.poll();
    auto box = transport.last();
    box->open();
    station->replace_servers(
        {{.id = "math-1", .server_type = "math", .transport = "fake", .weight = 5}});
    EXPECT_EQ(station->servers()->find("math-1")->weight, 5);
    call(r2);
    ioc.poll();
    EXPECT_EQ(transport.created(), 1u);
    EXPECT_FALSE(box->closed());
    auto ids = box->sent_request_ids();
    ASSERT_EQ(ids.size(), 2u);
    box->respond(ids[0], 1);
    box->respond(ids[1], 2);
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2; }));
    EXPECT_EQ(*r1, std::make_tuple(std::error_code{}, 1));
    EXPECT_EQ(*r2, std::make_tuple(std::error_code{}, 2));

    // A new port is a new link: the old one drains, the next call opens another.
    result r3, r4;
    call(r3);
    ioc.poll();
    station->replace_servers(
        {{.id = "math-1", .server_type = "math", .port = 9, .transport = "fake", .weight = 5}});
    call(r4);
    ioc.poll();
    ASSERT_EQ(transport.created(), 2u);
    auto next = transport.last();
    next->open();
    next->respond(next->sent_request_ids().at(0), 4);
    box->respond(box->sent_request_ids().at(2), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return r3 && r4; }));
    EXPECT_EQ(*r3, std::make_tuple(std::error_code{}, 3));
    EXPECT_EQ(*r4, std::make_tuple(std::error_code{}, 4));
    EXPECT_TRUE(box->closed());
}

// A notify used to skip max_queued_bytes_per_server: a flood of them overflowed the mail
// box's write queue, which closes the link and fails every call on it.
TEST_F(station_fixture, ANotifyBeyondTheQueuedBytesBoundFailsAloneWithQueueFull)
{
    make({.max_queued_bytes_per_server = 1000});
    result inflight;
    call(inflight);
    ioc.poll();
    auto box = transport.last();
    box->open();
    box->set_queued_bytes(990); // the server stopped reading
    std::optional<std::error_code> flood;
    rpc->async_notify(add_path, "k", std::tuple{std::string(100, 'x')},
                      [&](std::error_code ec) { flood = ec; });
    ASSERT_TRUE(run_until(ioc, [&] { return flood.has_value(); }));
    EXPECT_EQ(*flood, error::queue_full);
    EXPECT_EQ(box->sent_count(), 2u) << "hello and the call only";
    EXPECT_FALSE(box->closed());
    EXPECT_FALSE(inflight);
    box->set_queued_bytes(0);
    box->respond(box->sent_request_ids().at(0), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return inflight.has_value(); }));
    EXPECT_EQ(*inflight, std::make_tuple(std::error_code{}, 3));
    EXPECT_EQ(station->counters().queue_full, 1u);
}

TEST_F(station_fixture, ACancelledCallCompletesWithCancelledWhichIsOperationCanceled)
{
    result r;
    auto stop = std::make_shared<mailroom::cancellation>();
    call(r, {.cancel = stop});
    ioc.poll();
    auto box = transport.last();
    box->open();
    stop->cancel();
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::cancelled);
    EXPECT_EQ(std::get<0>(*r), std::errc::operation_canceled);
    box->respond(box->sent_request_ids().at(0), 3);
    ioc.poll();
    EXPECT_EQ(station->counters().late_replies, 1u);
    EXPECT_EQ(station->counters().cancelled, 1u);

    result already;
    call(already, {.cancel = stop});
    ASSERT_TRUE(run_until(ioc, [&] { return already.has_value(); }));
    EXPECT_EQ(std::get<0>(*already), error::cancelled);
}

// A proxy routes and sends on one snapshot of the station (mail_station::view): servers
// that did not change keep their mail box in the next snapshot.
TEST_F(station_fixture, AServerKeepsItsMailBoxWhenOthersJoinOrLeave)
{
    result r1, r2;
    call(r1);
    ioc.poll();
    transport.last()->open();
    station->add_server({.id = "other-1", .server_type = "other", .transport = "fake"});
    station->remove_server("other-1");
    call(r2);
    ioc.poll();
    ASSERT_EQ(transport.created(), 1u);
    auto box = transport.last();
    auto ids = box->sent_request_ids();
    ASSERT_EQ(ids.size(), 2u);
    box->respond(ids[0], 1);
    box->respond(ids[1], 2);
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2; }));
    EXPECT_EQ(*r1, std::make_tuple(std::error_code{}, 1));
    EXPECT_EQ(*r2, std::make_tuple(std::error_code{}, 2));
}

// A snapshot taken before a change: a server removed since fails the call as if it had been
// removed just after it (never sent); a server added since is reached through the current
// table.
TEST_F(station_fixture, ACallOnAnOlderSnapshotSeesLaterChanges)
{
    result warm;
    call(warm);
    ioc.poll();
    auto first = transport.last();
    first->open();
    const auto before = mailroom::detail::view_of(*station);
    station->remove_server("math-1");
    station->add_server({.id = "math-2", .server_type = "math", .transport = "fake"});
    first->respond(first->sent_request_ids().at(0), 3); // answered while it drains
    ASSERT_TRUE(run_until(ioc, [&] { return warm.has_value(); }));
    EXPECT_EQ(*warm, std::make_tuple(std::error_code{}, 3));

    auto send = [&](std::string_view to, std::optional<std::error_code>& out) {
        mailroom::frame f;
        const auto id = mailroom::detail::next_request_id(*station);
        mailroom::protocol::encode_request(f, id, add_path, std::tuple{1, 2}, 1000);
        mailroom::detail::send_request(
            *station, before, to, id, std::move(f), {},
            [&out](std::error_code ec, const mailroom::protocol::response_view*) {
                out.emplace(ec);
            });
        return id;
    };
    std::optional<std::error_code> removed, added;
    send("math-1", removed);
    const auto id = send("math-2", added);
    ioc.poll();
    ASSERT_EQ(transport.created(), 2u);
    auto box = transport.last();
    box->open();
    ASSERT_EQ(box->sent_request_ids(), std::vector<std::uint64_t>{id});
    box->respond(id, 3);
    ASSERT_TRUE(run_until(ioc, [&] { return removed && added; }));
    EXPECT_EQ(*removed, error::not_sent);
    EXPECT_EQ(*added, std::error_code{});
}

TEST_F(station_fixture, NamesWhyACallHasNoServer)
{
    result no_type, unknown_transport;
    rpc->async_call<int>({.server_type = "chat", .service = "s", .method = "m"}, "k",
                         std::tuple{}, [&](std::error_code ec, int v) { no_type.emplace(ec, v); });
    station->add_server({.id = "odd-1", .server_type = "odd", .transport = "carrier-pigeon"});
    rpc->async_call<int>({.server_type = "odd", .service = "s", .method = "m"}, "k", std::tuple{},
                         [&](std::error_code ec, int v) { unknown_transport.emplace(ec, v); });
    ASSERT_TRUE(run_until(ioc, [&] { return no_type && unknown_transport; }));
    EXPECT_EQ(std::get<0>(*no_type), error::no_target_server);
    EXPECT_EQ(std::get<0>(*unknown_transport), error::unknown_transport);
}

TEST_F(station_fixture, RefusesALinkWhoseServerAnswersWithAnotherId)
{
    result r;
    call(r);
    ioc.poll();
    auto box = transport.last();
    box->finish_connect();
    box->ack_hello({}, "math-2");
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::wrong_server);
    EXPECT_TRUE(box->closed());
    EXPECT_TRUE(box->sent_request_ids().empty()) << "no call reaches the wrong server";
}

TEST_F(station_fixture, ReportsAVersionMismatchFromTheServer)
{
    result r;
    call(r);
    ioc.poll();
    auto box = transport.last();
    box->finish_connect();
    box->ack_hello(error::version_mismatch);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::version_mismatch);
}

TEST_F(station_fixture, ANotifyWaitsForTheLinkThenCompletes)
{
    std::optional<std::error_code> done;
    rpc->async_notify(add_path, "k", std::tuple{1, 2}, [&](std::error_code ec) { done = ec; });
    ioc.poll();
    EXPECT_FALSE(done);
    auto box = transport.last();
    box->open();
    ASSERT_TRUE(run_until(ioc, [&] { return done.has_value(); }));
    EXPECT_FALSE(*done);
    auto sent = box->sent_messages();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].kind, mailroom::protocol::message_kind::notify);
}

TEST_F(station_fixture, AReplyCarriesTheRemoteErrorMessage)
{
    std::optional<std::tuple<std::error_code, std::string>> out;
    rpc->async_call(add_path, "k", std::tuple{1, 2}, [&](std::error_code ec, mailroom::reply r) {
        out.emplace(ec, r.error_message());
    });
    ioc.poll();
    auto box = transport.last();
    box->open();
    box->respond_error(box->sent_request_ids().at(0), error::remote_error, "boom");
    ASSERT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
    EXPECT_EQ(std::get<0>(*out), error::remote_error);
    EXPECT_EQ(std::get<1>(*out), "boom");
}

TEST_F(station_fixture, AResultOfTheWrongTypeIsBadResult)
{
    result r;
    call(r);
    ioc.poll();
    auto box = transport.last();
    box->open();
    box->respond(box->sent_request_ids().at(0), std::string("not an int"));
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::bad_result);
}

TEST_F(station_fixture, AMalformedFrameFromTheServerDropsTheLink)
{
    result r;
    call(r);
    ioc.poll();
    auto box = transport.last();
    box->open();
    const char garbage[] = {'\xc1', '\x00'};
    box->deliver_bytes(garbage);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::disconnected);
    EXPECT_TRUE(box->closed());
}

TEST_F(station_fixture, RunsTheHandlerOnItsAssociatedExecutor)
{
    auto strand = asio::make_strand(ioc);
    std::optional<bool> on_strand;
    rpc->async_call<int>(add_path, "k", std::tuple{1, 2},
                         asio::bind_executor(strand, [&](std::error_code, int) {
                             on_strand = strand.running_in_this_thread();
                         }));
    ioc.poll();
    auto box = transport.last();
    box->open();
    box->respond(box->sent_request_ids().at(0), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return on_strand.has_value(); }));
    EXPECT_TRUE(*on_strand);
}

TEST_F(station_fixture, WorksWithUseFuture)
{
    auto fut = rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, asio::use_future);
    ioc.poll();
    auto box = transport.last();
    box->open();
    box->respond(box->sent_request_ids().at(0), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
    auto [ec, v] = fut.get();
    EXPECT_FALSE(ec);
    EXPECT_EQ(v, 3);
}

// The factory, the log sink and completions run outside the station's locks: each may call
// back into the station (with a lock held this would deadlock).
TEST_F(station_fixture, TheFactoryTheLogSinkAndCompletionsMayCallTheStation)
{
    std::size_t seen_by_factory = 99, seen_by_sink = 99;
    mailroom::mail_station_options opts;
    opts.log.min_level = mailroom::log_level::info;
    opts.log.sink = [&](mailroom::log_level, std::string_view) {
        seen_by_sink = station->pending();
    };
    station.emplace(ioc.get_executor(), opts);
    auto make = transport.factory();
    station->add_transport("fake", [&, make](const mailroom::mailbox_context& ctx) {
        seen_by_factory = station->pending();
        return make(ctx);
    });
    station->add_server({.id = "math-1", .server_type = "math", .transport = "fake"});
    rpc.emplace(*station, router);

    result r;
    call(r);
    ioc.poll();
    EXPECT_EQ(seen_by_factory, 1u) << "the call is queued before its mail box is made";
    auto box = transport.last();
    box->open();
    box->drop(std::make_error_code(std::errc::connection_reset)); // logged at info
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::disconnected);
    EXPECT_EQ(seen_by_sink, 0u);

    result again;
    rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, [&](std::error_code ec, int v) {
        again.emplace(ec, v);
        r.reset();
        call(r); // a completion that calls again
    });
    ioc.poll();
    transport.last()->open();
    auto ids = transport.last()->sent_request_ids();
    ASSERT_EQ(ids.size(), 1u);
    transport.last()->respond(ids[0], 3);
    ASSERT_TRUE(run_until(ioc, [&] { return again.has_value(); }));
    EXPECT_EQ(station->pending(), 1u);
}

TEST_F(station_fixture, RequestIdsAreNeverReused)
{
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i)
        EXPECT_TRUE(seen.insert(mailroom::detail::next_request_id(*station)).second);
    EXPECT_EQ(seen.count(0), 0u);
}

} // namespace
