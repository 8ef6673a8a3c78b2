#include <mailroom/client/failure_policy.hpp>
// Test that header file is self-contained.

#include "support/fake_servers.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::failure_kind;
using mailroom::filter_call;
using mailroom::filter_next;
using mailroom::test::fake_mailbox;
using mailroom::test::fake_transport;
using mailroom::test::run_until;
namespace asio = boost::asio;

const mailroom::protocol::method_path add_path{.server_type = "math", .service = "calc",
                                               .method = "add"};

using result = std::optional<std::tuple<std::error_code, int>>;

/// Records the server of every attempt, in order.
struct attempt_log : mailroom::client_filter {
    void before(filter_call& c, filter_next next) override
    {
        {
            std::lock_guard lock(mu);
            targets.push_back(c.target);
        }
        next();
    }
    std::vector<std::string> seen() const
    {
        std::lock_guard lock(mu);
        return targets;
    }
    mutable std::mutex mu;
    std::vector<std::string> targets;
};

/// math-1 to math-3 (see fake_servers), the proxy over them with a filter that records
/// each attempt's server, calls routed to math-1.
struct policies_fixture : ::testing::Test, mailroom::test::fake_servers {
    mailroom::client_filters filters;
    std::optional<mailroom::proxy> rpc;
    std::shared_ptr<attempt_log> log = std::make_shared<attempt_log>();

    void SetUp() override
    {
        start("math");
        filters.add(log);
        rpc.emplace(*station, router, &filters);
        route_to("math-1");
    }

    void route_to(std::string id)
    {
        router.set("math", [id](const mailroom::route_param&, const mailroom::protocol::method_path&,
                                const mailroom::server_table&) { return id; });
    }

    std::function<void(std::error_code, int)> into(result& out)
    {
        return [&out](std::error_code ec, int v) {
            ASSERT_FALSE(out) << "completed twice";
            out.emplace(ec, v);
        };
    }

    /// Calls calc.add, routed to math-1 unless a test routes elsewhere; `r` gets the result.
    void call(result& r, mailroom::call_options o = {})
    {
        rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, std::move(o), into(r));
    }
};

mailroom::failure_kind kind_of(std::error_code ec, bool sent)
{
    static const mailroom::server_table table;
    filter_call c;
    const mailroom::call_failure f{c, ec, sent, true, {}, table};
    return mailroom::classify(f);
}

TEST(FailureKind, SaysWhetherTheCallMayHaveRun)
{
    // Never left this process: safe anywhere.
    for (auto e : {error::not_sent, error::connect_failed, error::queue_full, error::wrong_server,
                   error::unknown_server, error::server_busy})
        EXPECT_EQ(kind_of(e, false), failure_kind::not_run) << make_error_code(e).message();
    EXPECT_EQ(kind_of(std::make_error_code(std::errc::connection_refused), false),
              failure_kind::not_run);
    // Refused by the callee before its handler ran.
    EXPECT_EQ(kind_of(error::server_busy, true), failure_kind::not_run);
    EXPECT_EQ(kind_of(error::shutting_down, true), failure_kind::not_run);
    // Sent, outcome unknown.
    for (auto e : {error::disconnected, error::timeout, error::keepalive_timeout})
        EXPECT_EQ(kind_of(e, true), failure_kind::unknown) << make_error_code(e).message();
    // The same on every server, or the handler ran.
    for (auto e : {error::remote_error, error::bad_arguments, error::unknown_method,
                   error::unknown_service, error::not_encodable, error::frame_too_large,
                   error::deadline_exceeded, error::cancelled})
        EXPECT_EQ(kind_of(e, true), failure_kind::final) << make_error_code(e).message();
    EXPECT_EQ(kind_of(error::not_encodable, false), failure_kind::final);
    EXPECT_EQ(kind_of(std::make_error_code(std::errc::operation_canceled), false),
              failure_kind::final);
}

TEST(Backoff, GrowsToItsMaximumAndJittersWithinHalfOfIt)
{
    mailroom::backoff_settings b{.initial = 10ms, .max = 50ms, .multiplier = 2, .jitter = false};
    EXPECT_EQ(b.delay(1), 10ms);
    EXPECT_EQ(b.delay(2), 20ms);
    EXPECT_EQ(b.delay(3), 40ms);
    EXPECT_EQ(b.delay(4), 50ms);
    EXPECT_EQ(b.delay(100), 50ms);
    b.jitter = true;
    for (int i = 0; i < 1000; ++i) {
        const auto d = b.delay(3);
        EXPECT_GE(d, 20ms);
        EXPECT_LE(d, 40ms);
    }
}

TEST(IdempotentMethods, MatchShortAndFullNames)
{
    const auto f = mailroom::idempotent_methods({"calc.add", "area.map.get"});
    filter_call c;
    c.server_type = "math";
    c.service = "calc";
    c.method = "add";
    EXPECT_TRUE(f(c));
    c.method = "sub";
    EXPECT_FALSE(f(c));
    c.server_type = "area";
    c.service = "map";
    c.method = "get";
    EXPECT_TRUE(f(c));
    c.server_type = "chat";
    EXPECT_FALSE(f(c));
}

TEST_F(policies_fixture, FailoverMovesACallThatDidNotRunToServersThatHaveNotFailedIt)
{
    rpc->policies().set("math", std::make_shared<mailroom::failover>());
    result r;
    call(r);
    // math-1 never connects; of math-2 and math-3 the policy picks one at random: whichever
    // it is, the one that answers is math-3 (math-2 never connects either).
    auto box = open(2);
    const auto id = nth_request(box, 1);
    box->respond(id, 3);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 3));
    const auto seen = log->seen();
    ASSERT_GE(seen.size(), 2u);
    ASSERT_LE(seen.size(), 3u);
    EXPECT_EQ(seen.front(), "math-1");
    EXPECT_EQ(seen.back(), "math-3");
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size())
        << "no server gets the same call twice";
}

TEST_F(policies_fixture, FailoverStopsAtItsAttemptLimitWithTheLastError)
{
    rpc->policies().set("math", std::make_shared<mailroom::failover>(
                                    mailroom::failover::options{.max_attempts = 2}));
    result r;
    call(r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::connect_failed);
    EXPECT_EQ(log->seen().size(), 2u);
}

TEST_F(policies_fixture, FailoverDoesNotMoveACallThatMayHaveRun)
{
    result r;
    call(r, {.policy = std::make_shared<mailroom::failover>()});
    auto box = open(0);
    nth_request(box, 1);
    box->drop(make_error_code(error::disconnected)); // sent, then the link went
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::disconnected);
    EXPECT_EQ(log->seen().size(), 1u);
}

TEST_F(policies_fixture, FailoverMovesAnIdempotentCallThatMayHaveRun)
{
    mailroom::failover::options o;
    o.idempotent = mailroom::idempotent_methods({"calc.add"});
    result r;
    call(r, {.policy = std::make_shared<mailroom::failover>(std::move(o))});
    auto box = open(0);
    nth_request(box, 1);
    box->drop(make_error_code(error::disconnected));
    // Moved to math-2 or math-3: answer whichever gets it.
    ASSERT_TRUE(run_until(ioc, [&] { return t[1].created() + t[2].created() > 0; }));
    auto other = open(t[1].created() > 0 ? 1 : 2);
    other->respond(nth_request(other, 1), 7);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 7));
    EXPECT_EQ(log->seen().size(), 2u);
}

TEST_F(policies_fixture, FailoverNeverMovesACallToAChosenServer)
{
    rpc->policies().set("math", std::make_shared<mailroom::failover>());
    result r;
    rpc->async_call_to<int>("math-1", add_path, std::tuple{1, 2}, into(r));
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::connect_failed);
    EXPECT_EQ(log->seen(), std::vector<std::string>{"math-1"});
}

TEST_F(policies_fixture, FailsafeRetriesTheSameServerUntilItTakesTheCall)
{
    mailroom::failsafe::options o;
    o.backoff = {.initial = 1ms, .max = 2ms, .jitter = false};
    rpc->policies().set("math", std::make_shared<mailroom::failsafe>(o));
    result r;
    call(r);
    auto box = open(0);
    box->respond_error(nth_request(box, 1), make_error_code(error::server_busy), "busy");
    box->respond_error(nth_request(box, 2), make_error_code(error::server_busy), "busy");
    box->respond(nth_request(box, 3), 5);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 5));
    EXPECT_EQ(log->seen(), (std::vector<std::string>{"math-1", "math-1", "math-1"}));
}

TEST_F(policies_fixture, FailsafeGivesUpAfterItsRetriesAndOnErrorsARetryCannotMend)
{
    mailroom::failsafe::options o;
    o.max_retries = 1;
    o.backoff = {.initial = 1ms, .max = 2ms, .jitter = false};
    auto policy = std::make_shared<mailroom::failsafe>(o);
    rpc->policies().set("math", policy);
    result r;
    call(r);
    auto box = open(0);
    box->respond_error(nth_request(box, 1), make_error_code(error::server_busy), "busy");
    box->respond_error(nth_request(box, 2), make_error_code(error::server_busy), "busy");
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::server_busy);
    EXPECT_EQ(log->seen().size(), 2u) << "one retry";

    // The handler ran and failed: not retried.
    result r2;
    call(r2);
    box->respond_error(nth_request(box, 3), make_error_code(error::remote_error), "boom");
    ASSERT_TRUE(run_until(ioc, [&] { return r2.has_value(); }));
    EXPECT_EQ(std::get<0>(*r2), error::remote_error);
    EXPECT_EQ(log->seen().size(), 3u);
}

TEST_F(policies_fixture, FailsafeStopsAtTheDeadline)
{
    mailroom::failsafe::options o;
    o.max_retries = 1000;
    o.backoff = {.initial = 5ms, .max = 5ms, .jitter = false};
    rpc->policies().set("math", std::make_shared<mailroom::failsafe>(o));
    const auto start = std::chrono::steady_clock::now();
    result r;
    call(r, {.timeout = 200ms});
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_TRUE(std::get<0>(*r) == error::connect_failed || std::get<0>(*r) == error::timeout)
        << std::get<0>(*r).message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_GE(log->seen().size(), 2u);
    ioc.poll();
    EXPECT_EQ(station->pending(), 0u);
}

TEST_F(policies_fixture, FailbackAnswersAtOnceAndDeliversTheCallLater)
{
    mailroom::failback::options o;
    o.backoff = {.initial = 1ms, .max = 5ms, .jitter = false};
    o.log.min_level = mailroom::log_level::off;
    auto policy = std::make_shared<mailroom::failback>(o);
    rpc->policies().set("math", policy);
    result r;
    call(r, {.timeout = 30s});
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(std::get<0>(*r), error::connect_failed) << "the caller's answer, at once";
    EXPECT_EQ(policy->stats().queued, 1u);
    // The server comes back: the kept call reaches it.
    ASSERT_TRUE(run_until(ioc, [&] { return t[0].created() >= 2; }));
    auto box = t[0].last();
    box->open();
    box->respond(nth_request(box, 1), 3);
    ASSERT_TRUE(run_until(ioc, [&] { return policy->stats().delivered == 1; }));
    const auto s = policy->stats();
    EXPECT_EQ(s.queued, 0u);
    EXPECT_EQ(s.given_up, 0u);
    EXPECT_EQ(s.overflows, 0u);
}

TEST_F(policies_fixture, FailbackKeepsABoundedQueueAndCountsOverflowsAndGiveUps)
{
    mailroom::failback::options o;
    o.max_queued = 1;
    o.backoff = {.initial = 1ms, .max = 5ms, .jitter = false};
    std::vector<std::string> lines;
    std::mutex lines_mu;
    o.log.sink = [&](mailroom::log_level, std::string_view line) {
        std::lock_guard lock(lines_mu);
        lines.emplace_back(line);
    };
    auto policy = std::make_shared<mailroom::failback>(o);
    rpc->policies().set("math", policy);
    result r1;
    call(r1, {.timeout = 300ms});
    result r2;
    call(r2, {.timeout = 300ms});
    ASSERT_TRUE(run_until(ioc, [&] { return r1 && r2; }));
    EXPECT_EQ(std::get<0>(*r1), error::connect_failed);
    EXPECT_EQ(std::get<0>(*r2), error::connect_failed);
    EXPECT_EQ(policy->stats().overflows, 1u);
    // The server never comes back: the kept call is given up at its deadline.
    ASSERT_TRUE(run_until(ioc, [&] { return policy->stats().given_up == 1; }));
    EXPECT_EQ(policy->stats().queued, 0u);
    std::lock_guard lock(lines_mu);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("queue is full"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("given up"), std::string::npos) << lines[1];
}

TEST_F(policies_fixture, APerCallPolicyTakesPrecedenceOverTheProxys)
{
    // The proxy's policy would fail fast; this call's moves on.
    rpc->policies().set("math", std::make_shared<mailroom::failfast>());
    result r;
    call(r, {.policy = std::make_shared<mailroom::failover>(
                 mailroom::failover::options{.max_attempts = 3})});
    auto box = open(2);
    box->respond(nth_request(box, 1), 9);
    ASSERT_TRUE(run_until(ioc, [&] { return r.has_value(); }));
    EXPECT_EQ(*r, std::make_tuple(std::error_code{}, 9));
}

} // namespace
