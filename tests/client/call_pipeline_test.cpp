#include <mailroom/client/failure_policy.hpp>
// Test that header file is self-contained.

#include "support/fake_transport.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/error.hpp>
#include <mailroom/remote.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mailroom::test {

MAILROOM_REMOTE(calc_remote, calc,
    (add, int(int a, int b))
    (poke, mailroom::no_reply(int n)));

struct math_rpc : rpc_base {
    using rpc_base::rpc_base;
    server_type<"math", calc_remote> math{*this};
};

} // namespace mailroom::test

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::filter_call;
using mailroom::filter_next;
using mailroom::test::fake_transport;
using mailroom::test::run_until;
namespace asio = boost::asio;

const mailroom::protocol::method_path add_path{.server_type = "math", .service = "calc",
                                               .method = "add"};
const mailroom::protocol::method_path poke_path{.server_type = "math", .service = "calc",
                                                .method = "poke"};

using result = std::optional<std::tuple<std::error_code, int>>;

/// What a client filter saw of each attempt, in `before` and in `after`.
struct seen_attempt {
    std::uint64_t request_id = 0;
    std::string target;
    unsigned attempt = 0;
    std::string key_before, key_after;
    std::optional<std::error_code> outcome;
};

/// Records every attempt; rejects attempts to `reject_target` with server_busy.
struct recording_filter : mailroom::client_filter {
    void before(filter_call& c, filter_next next) override
    {
        {
            std::lock_guard lock(mu);
            attempts.push_back({c.request_id, c.target, c.attempt,
                                c.param.has_key() ? std::string(c.param.key()) : "<none>", {}, {}});
        }
        next(c.target == reject_target ? make_error_code(error::server_busy) : std::error_code{});
    }
    void after(const filter_call& c, std::error_code ec, std::chrono::nanoseconds) override
    {
        std::lock_guard lock(mu);
        for (auto& a : attempts)
            if (a.request_id == c.request_id && a.attempt == c.attempt && !a.outcome) {
                a.key_after = c.param.has_key() ? std::string(c.param.key()) : "<none>";
                a.outcome = ec;
            }
    }
    std::mutex mu;
    std::vector<seen_attempt> attempts;
    std::string reject_target;
};

/// A policy that re-routes a not-sent call once, to the first server that has not failed it.
struct reroute_once : mailroom::failure_policy {
    mailroom::retry_decision on_failure(const mailroom::call_failure& f) override
    {
        std::lock_guard lock(mu);
        failures.push_back({f.call.target, f.error, f.sent, f.routed, f.call.attempt,
                            std::vector<std::string>(f.failed.begin(), f.failed.end()), &f.servers});
        auto c = f.candidates();
        if (f.sent || !f.routed || f.call.attempt > 1 || c.empty())
            return mailroom::retry_decision::complete();
        mailroom::retry_decision d = mailroom::retry_decision::resend(c.front()->id);
        d.in_background = in_background;
        return d;
    }
    void on_done(const filter_call& c, std::error_code ec) override
    {
        std::lock_guard lock(mu);
        done.emplace_back(c.target, ec);
    }

    struct failure {
        std::string target;
        std::error_code error;
        bool sent, routed;
        unsigned attempt;
        std::vector<std::string> failed;
        const mailroom::server_table* servers;
    };
    bool in_background = false;
    std::mutex mu;
    std::vector<failure> failures;
    std::vector<std::pair<std::string, std::error_code>> done;
};

/** A station with "math-1" on the `dead` transport (its connect never completes, so calls
    fail with connect_failed after the connect timeout) and "math-2" on the `live` one, the
    proxy over it with a filter chain, and typed stubs.
*/
struct pipeline_fixture : ::testing::Test {
    asio::io_context ioc;
    fake_transport dead, live;
    std::optional<mailroom::mail_station> station;
    mailroom::router router;
    mailroom::client_filters filters;
    std::optional<mailroom::proxy> rpc;
    std::optional<mailroom::test::math_rpc> typed;
    std::shared_ptr<recording_filter> rec = std::make_shared<recording_filter>();

    void SetUp() override
    {
        mailroom::mail_station_options o;
        o.connect_timeout = 30ms;
        o.log.min_level = mailroom::log_level::off;
        station.emplace(ioc.get_executor(), o);
        station->add_transport("dead", dead.factory());
        station->add_transport("live", live.factory());
        station->add_server({.id = "math-1", .server_type = "math", .transport = "dead"});
        station->add_server({.id = "math-2", .server_type = "math", .transport = "live"});
        filters.add(rec);
        rpc.emplace(*station, router, &filters);
        typed.emplace(*rpc);
    }

    /// Routes every call of type "math" to `id`.
    void route_to(std::string id)
    {
        router.set("math", [id](const mailroom::route_param&, const mailroom::protocol::method_path&,
                                const mailroom::server_table&) { return id; });
    }

    /// Opens math-2's mail box once the station made it, answers its requests with `value`.
    void serve_live(int value, std::size_t requests = 1)
    {
        ASSERT_TRUE(run_until(ioc, [&] { return live.created() > 0; }));
        auto box = live.last();
        box->open();
        ASSERT_TRUE(run_until(ioc, [&] { return box->sent_request_ids().size() >= requests; }));
        for (auto id : box->sent_request_ids())
            box->respond(id, value);
    }

    std::function<void(std::error_code, int)> into(result& out)
    {
        return [&out](std::error_code ec, int v) {
            ASSERT_FALSE(out) << "completed twice";
            out.emplace(ec, v);
        };
    }
};

TEST_F(pipeline_fixture, FiltersSeeTheRouteParameterOfTypedAndDynamicCallsForTheWholeCall)
{
    route_to("math-2");
    result dynamic, typed_call;
    std::optional<std::error_code> typed_notify;
    rpc->async_call<int>(add_path, "user-dynamic", std::tuple{1, 2}, into(dynamic));
    typed->math.calc.add("user-typed", 3, 4, into(typed_call));
    serve_live(7, 2);
    typed->math.calc.poke("user-notify", 1, [&](std::error_code ec) {
        ASSERT_FALSE(typed_notify) << "completed twice";
        typed_notify = ec;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return dynamic && typed_call && typed_notify; }));
    EXPECT_EQ(*dynamic, std::make_tuple(std::error_code{}, 7));
    EXPECT_EQ(*typed_call, std::make_tuple(std::error_code{}, 7));
    EXPECT_EQ(*typed_notify, std::error_code{});

    std::lock_guard lock(rec->mu);
    ASSERT_EQ(rec->attempts.size(), 3u);
    const char* keys[] = {"user-dynamic", "user-typed", "user-notify"};
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(rec->attempts[i].target, "math-2");
        EXPECT_EQ(rec->attempts[i].key_before, keys[i]);
        EXPECT_EQ(rec->attempts[i].key_after, keys[i]) << "the copy lives until after()";
        EXPECT_EQ(rec->attempts[i].outcome, std::error_code{});
    }
}

TEST_F(pipeline_fixture, ACallToAChosenServerCarriesNoRouteParameter)
{
    result r;
    typed->math.calc.to_server("math-2").add(1, 1, into(r));
    serve_live(2);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 2));
    std::lock_guard lock(rec->mu);
    ASSERT_EQ(rec->attempts.size(), 1u);
    EXPECT_EQ(rec->attempts[0].key_before, "<none>");
}

// Under use_awaitable the operation starts when awaited. Here that is after the route
// parameter and the key it viewed are gone: the call must have routed and copied the key
// before (a call that kept a pointer to the parameter read freed memory here).
TEST_F(pipeline_fixture, TheRouteParameterOutlivesTheCallersFrameUnderUseAwaitable)
{
    route_to("math-2");
    const std::string expected = "a-key-long-enough-to-live-on-the-heap-" + std::string(40, 'k');
    result r;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            std::optional<asio::awaitable<std::tuple<std::error_code, int>>> op;
            {
                auto key = std::make_unique<std::string>(expected);
                op.emplace(rpc->async_call<int>(add_path, mailroom::route_param(*key),
                                                std::tuple{2, 3}, asio::use_awaitable));
                auto typed_op = typed->math.calc.add(*key, 1, 1, asio::use_awaitable);
                key.reset(); // the key's bytes are freed before either call starts
                auto [ec, v] = co_await std::move(typed_op);
                EXPECT_EQ(ec, std::error_code{});
            }
            auto [ec, v] = co_await std::move(*op);
            r.emplace(ec, v);
        },
        asio::detached);
    // The typed call starts first (it is awaited first), then the dynamic one.
    ASSERT_TRUE(run_until(ioc, [&] { return live.created() > 0; }));
    auto box = live.last();
    box->open();
    ASSERT_TRUE(run_until(ioc, [&] { return box->sent_request_ids().size() == 1; }));
    box->respond(box->sent_request_ids()[0], 2);
    ASSERT_TRUE(run_until(ioc, [&] { return box->sent_request_ids().size() == 2; }));
    box->respond(box->sent_request_ids()[1], 5);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 5));
    std::lock_guard lock(rec->mu);
    ASSERT_EQ(rec->attempts.size(), 2u);
    EXPECT_EQ(rec->attempts[0].key_before, expected);
    EXPECT_EQ(rec->attempts[1].key_before, expected);
}

// The router and the station see one snapshot per call: a typed call routed to a server that
// is removed while it routes is sent where it was routed (which now fails it cleanly), never
// to a server of a later table; a failure policy sees the very table the router saw.
TEST_F(pipeline_fixture, ATypedCallRoutedWhileServersChangeUsesTheSnapshotItWasRoutedOn)
{
    // math-2's mail box is made and opened before the change.
    route_to("math-2");
    result warm;
    typed->math.calc.add("k", 0, 0, into(warm));
    serve_live(0);
    ASSERT_TRUE(run_until(ioc, [&] { return warm.has_value(); }));

    auto policy = std::make_shared<reroute_once>();
    rpc->policies().set("math", policy);
    const mailroom::server_table* routed_on = nullptr;
    router.set("math", [&](const mailroom::route_param&, const mailroom::protocol::method_path&,
                           const mailroom::server_table& t) {
        routed_on = &t;
        // While routing: math-2 leaves, math-3 joins (on the live transport).
        station->remove_server("math-2");
        station->add_server({.id = "math-3", .server_type = "math", .transport = "live"});
        return std::string("math-2");
    });
    result r;
    typed->math.calc.add("k", 1, 2, into(r));
    const auto box = live.last();
    ASSERT_TRUE(run_until(ioc, [&] { return r || box->sent_request_ids().size() == 2; }));
    if (!r) // a station that lets a leaving server finish what it was sent
        box->respond(box->sent_request_ids()[1], 3);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    ioc.poll();
    EXPECT_EQ(live.created(), 1u) << "nothing was sent to math-3, which the call never saw";
    EXPECT_NE(station->servers().get(), routed_on);
    const auto ec = std::get<0>(*r);
    if (ec) {
        // math-2 left before the call reached its mail box: the attempt was not sent, so the
        // policy moves it to the only other server of the snapshot it was routed on (math-1,
        // whose transport refuses), never to math-3, which joined after the routing.
        std::lock_guard lock(policy->mu);
        ASSERT_EQ(policy->failures.size(), 2u);
        EXPECT_EQ(policy->failures[0].target, "math-2");
        EXPECT_EQ(policy->failures[0].error, error::not_sent) << policy->failures[0].error.message();
        EXPECT_FALSE(policy->failures[0].sent);
        EXPECT_EQ(policy->failures[1].target, "math-1");
        for (const auto& f : policy->failures)
            EXPECT_EQ(f.servers, routed_on) << "one snapshot per call";
        EXPECT_EQ(ec, policy->failures[1].error);
    } else {
        EXPECT_EQ(std::get<1>(*r), 3);
    }
}

TEST_F(pipeline_fixture, TheRetryHookReRoutesANotSentCallToAnotherServer)
{
    route_to("math-1");
    auto policy = std::make_shared<reroute_once>();
    rpc->policies().set("math", policy);
    result r;
    rpc->async_call<int>(add_path, "user-1", std::tuple{1, 2}, into(r));
    serve_live(3); // after math-1's connect timed out, the call went to math-2
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    ioc.poll();
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 3));

    std::lock_guard lock(policy->mu);
    ASSERT_EQ(policy->failures.size(), 1u);
    const auto& f = policy->failures[0];
    EXPECT_EQ(f.target, "math-1");
    EXPECT_EQ(f.error, error::connect_failed);
    EXPECT_FALSE(f.sent);
    EXPECT_TRUE(f.routed);
    EXPECT_EQ(f.attempt, 1u);
    EXPECT_EQ(f.failed, std::vector<std::string>{"math-1"});
    EXPECT_EQ(policy->done.size(), 1u) << "on_done runs once per call";

    std::lock_guard lock2(rec->mu);
    ASSERT_EQ(rec->attempts.size(), 2u) << "the filters see each attempt";
    EXPECT_EQ(rec->attempts[0].target, "math-1");
    EXPECT_EQ(rec->attempts[0].outcome, make_error_code(error::connect_failed));
    EXPECT_EQ(rec->attempts[1].target, "math-2");
    EXPECT_EQ(rec->attempts[1].attempt, 2u);
    EXPECT_EQ(rec->attempts[1].key_before, "user-1");
    EXPECT_EQ(rec->attempts[1].outcome, std::error_code{});
}

TEST_F(pipeline_fixture, AFilterRejectionIsNotSentAndMayBeReRoutedForTypedCallsAndNotifies)
{
    route_to("math-1");
    rec->reject_target = "math-1";
    auto policy = std::make_shared<reroute_once>();
    rpc->policies().set_default(policy);
    result r;
    std::optional<std::error_code> poked;
    typed->math.calc.add("k", 2, 2, into(r));
    serve_live(4);
    typed->math.calc.poke("k", 1, [&](std::error_code ec) {
        ASSERT_FALSE(poked) << "completed twice";
        poked = ec;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return r && poked; }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 4));
    EXPECT_EQ(*poked, std::error_code{});
    EXPECT_EQ(dead.created(), 0u) << "rejected attempts never reach a mail box";
    std::lock_guard lock(policy->mu);
    ASSERT_EQ(policy->failures.size(), 2u);
    for (const auto& f : policy->failures) {
        EXPECT_EQ(f.error, error::server_busy);
        EXPECT_FALSE(f.sent);
    }
}

TEST_F(pipeline_fixture, APolicyDoesNotMoveACallWhoseServerTheCallerChose)
{
    auto policy = std::make_shared<reroute_once>();
    rpc->policies().set("math", policy);
    result r;
    typed->math.calc.to_server("math-1").add(1, 2, into(r));
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::connect_failed);
    EXPECT_EQ(live.created(), 0u);
    std::lock_guard lock(policy->mu);
    ASSERT_EQ(policy->failures.size(), 1u);
    EXPECT_FALSE(policy->failures[0].routed);
}

TEST_F(pipeline_fixture, InTheBackgroundTheCallerIsAnsweredAtOnceAndTheCallGoesOn)
{
    route_to("math-1");
    auto policy = std::make_shared<reroute_once>();
    policy->in_background = true;
    rpc->policies().set("math", policy);
    result r;
    rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, into(r));
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::connect_failed) << "the caller's answer";
    serve_live(3);
    ASSERT_TRUE(run_until(ioc, [&] {
        std::lock_guard lock(policy->mu);
        return !policy->done.empty();
    }));
    std::lock_guard lock(policy->mu);
    ASSERT_EQ(policy->done.size(), 1u);
    EXPECT_EQ(policy->done[0], std::make_pair(std::string("math-2"), std::error_code{}));
}

/// Sends every failed attempt back to the same server after 5 ms.
struct retry_in_place : mailroom::failure_policy {
    mailroom::retry_decision on_failure(const mailroom::call_failure& f) override
    {
        ++asked;
        return mailroom::retry_decision::resend(f.call.target, 5ms);
    }
    std::atomic<int> asked{0};
};

TEST_F(pipeline_fixture, RetriesStopAtTheDeadlineAndTheCallCompletesOnceWithTheLastError)
{
    route_to("math-1");
    auto policy = std::make_shared<retry_in_place>();
    rpc->policies().set("math", policy);
    result r;
    const auto start = std::chrono::steady_clock::now();
    rpc->async_call<int>(add_path, "k", std::tuple{}, {.timeout = 150ms}, into(r));
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(std::get<0>(*r) == error::connect_failed || std::get<0>(*r) == error::timeout)
        << std::get<0>(*r).message();
    EXPECT_GE(policy->asked.load(), 2);
    EXPECT_LT(took, 2s) << "no attempt starts after the deadline";
    ioc.poll();
    EXPECT_EQ(station->pending(), 0u);
}

TEST_F(pipeline_fixture, ACancelledCallIsNeverSentAgain)
{
    route_to("math-1");
    auto policy = std::make_shared<retry_in_place>();
    rpc->policies().set("math", policy);
    auto stop = std::make_shared<mailroom::cancellation>();
    result r;
    rpc->async_call<int>(add_path, "k", std::tuple{}, {.cancel = stop}, into(r));
    ioc.poll();
    stop->cancel();
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), std::errc::operation_canceled);
    EXPECT_EQ(policy->asked.load(), 0);
}

/// Keeps every call's continuation until the test releases it.
struct holding_filter : mailroom::client_filter {
    void before(filter_call&, filter_next next) override { held.push_back(std::move(next)); }
    std::vector<filter_next> held;
};

TEST_F(pipeline_fixture, AFilterThatContinuesAfterTheStationIsGoneCompletesTheCallOnceWithCancelled)
{
    route_to("math-2");
    auto hold = std::make_shared<holding_filter>();
    filters.add(hold);
    result r;
    int completions = 0;
    rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, [&](std::error_code ec, int v) {
        ++completions;
        r.emplace(ec, v);
    });
    ioc.poll();
    ASSERT_EQ(hold->held.size(), 1u);
    typed.reset();
    rpc.reset();
    station.reset();
    hold->held.front()(); // the station is gone: nothing of it may be read
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::cancelled);
    ioc.poll();
    EXPECT_EQ(completions, 1);
}

TEST_F(pipeline_fixture, ARetryDelayEndsAtOnceWhenTheCallIsCancelledOrTheStationCloses)
{
    route_to("math-1"); // dead: every attempt fails with connect_failed
    struct retry_later : mailroom::failure_policy {
        mailroom::retry_decision on_failure(const mailroom::call_failure& f) override
        {
            ++asked;
            return mailroom::retry_decision::resend(f.call.target, 30s);
        }
        std::atomic<int> asked{0};
    };
    auto policy = std::make_shared<retry_later>();
    rpc->policies().set("math", policy);
    auto start_waiting = [&](result& r, mailroom::call_options o) {
        o.timeout = 60s;
        rpc->async_call<int>(add_path, "k", std::tuple{}, o, into(r));
        const int before = policy->asked.load();
        // The first attempt fails after connect_timeout (30 ms); the policy asks for 30 s.
        ASSERT_TRUE(run_until(ioc, [&] { return policy->asked.load() > before; }));
        ioc.poll();
        ASSERT_FALSE(r.has_value());
    };

    // Cancelled during the delay.
    auto stop = std::make_shared<mailroom::cancellation>();
    result cancelled;
    start_waiting(cancelled, {.cancel = stop});
    auto t0 = std::chrono::steady_clock::now();
    stop->cancel();
    ASSERT_TRUE(run_until(ioc, [&] { return cancelled.has_value(); }));
    EXPECT_EQ(std::get<0>(*cancelled), error::cancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "the delay was cut short";

    // The station closed during the delay.
    result closed;
    start_waiting(closed, {});
    t0 = std::chrono::steady_clock::now();
    station->close();
    ASSERT_TRUE(run_until(ioc, [&] { return closed.has_value(); }));
    EXPECT_EQ(std::get<0>(*closed), error::cancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(policy->asked.load(), 2) << "no attempt after the delay";
}

TEST_F(pipeline_fixture, ARetryDelayEndsAtOnceWhenTheStationIsDestroyed)
{
    route_to("math-1");
    struct retry_later : mailroom::failure_policy {
        mailroom::retry_decision on_failure(const mailroom::call_failure& f) override
        {
            ++asked;
            return mailroom::retry_decision::resend(f.call.target, 30s);
        }
        std::atomic<int> asked{0};
    };
    auto policy = std::make_shared<retry_later>();
    rpc->policies().set("math", policy);
    result r;
    rpc->async_call<int>(add_path, "k", std::tuple{}, {.timeout = 60s}, into(r));
    ASSERT_TRUE(run_until(ioc, [&] { return policy->asked.load() > 0; }));
    typed.reset();
    rpc.reset();
    station.reset();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::cancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(policy->asked.load(), 1);
}

// Without filters or a policy, a call completes exactly once whatever happens to it; with
// them, too (every call of a mixed flood ends once, with a result or a named error).
TEST_F(pipeline_fixture, EveryCallCompletesExactlyOnce)
{
    route_to("math-1");
    auto policy = std::make_shared<reroute_once>();
    rpc->policies().set("math", policy);
    constexpr int n = 200;
    std::vector<int> completions(n, 0);
    std::atomic<int> finished{0};
    for (int i = 0; i < n; ++i) {
        auto done = [&, i](std::error_code, int) {
            ++completions[static_cast<std::size_t>(i)];
            ++finished;
        };
        if (i % 2)
            rpc->async_call<int>(add_path, "k", std::tuple{i, 0}, done);
        else
            typed->math.calc.add("k", i, 0, done);
    }
    ASSERT_TRUE(run_until(ioc, [&] { return live.created() > 0; }));
    auto box = live.last();
    box->open();
    ASSERT_TRUE(run_until(ioc, [&] { return box->sent_request_ids().size() == n; }));
    auto ids = box->sent_request_ids();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i % 3 == 0)
            box->respond_error(ids[i], error::server_busy, "busy");
        else
            box->respond(ids[i], 1);
    }
    ASSERT_TRUE(run_until(ioc, [&] { return finished.load() == n; }));
    ioc.poll();
    for (int c : completions)
        EXPECT_EQ(c, 1);
}

} // namespace
