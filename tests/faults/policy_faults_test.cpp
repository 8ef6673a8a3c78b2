// Failure policies against real server processes (labels "faults" and "cluster"; issue 13,
// items 4, 6 and 7): two servers of type "echo" run in child processes (fault_server), the
// caller is a mail station in this process with a policy; the tests kill -9, stop and restart
// the servers while calls are in flight and check that every call completes exactly once,
// where the policy's documented rules say it may run.

#include "faults/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::echo_server;
using mailroom::test::load_client;
using mailroom::test::server_process;

const mailroom::protocol::method_path late_whoami{
    .server_type = "echo", .service = "echoRemote", .method = "late_whoami"};
const mailroom::protocol::method_path whoami{
    .server_type = "echo", .service = "echoRemote", .method = "whoami"};

/// Which server answered each call (by ledger id), beside the load client's ledger.
class answers
{
public:
    void set(int id, const std::string& server)
    {
        std::lock_guard lock(mu_);
        by_call_[id] = server;
    }
    std::string of(int id) const
    {
        std::lock_guard lock(mu_);
        auto it = by_call_.find(id);
        return it == by_call_.end() ? std::string() : it->second;
    }

private:
    mutable std::mutex mu_;
    std::map<int, std::string> by_call_;
};

/// Two echo servers and a caller that routes round robin over them.
struct two_servers
{
    explicit two_servers(mailroom::tcp::stream_options stream = {},
                         std::shared_ptr<mailroom::failure_policy> policy = nullptr)
        : a(0, "tcp", "echo-a"), b(0, "tcp", "echo-b"),
          c({{"echo-a", a.port()}, {"echo-b", b.port()}}, stream,
            {.connect_timeout = 1s, .probe_delay = 0ms})
    {
        c.routes().set_default(mailroom::routes::round_robin());
        if (policy)
            c.rpc().policies().set_default(std::move(policy));
    }

    /// A routed call of `path` (ms: late_whoami's delay) with `timeout`; returns its ledger id.
    int routed(const mailroom::protocol::method_path& path, int ms,
               std::chrono::milliseconds timeout)
    {
        const int id = c.calls.open(timeout);
        auto done = [this, id](std::error_code ec, std::string who) {
            if (!ec)
                who_.set(id, who);
            c.calls.complete(id, ec);
        };
        if (path.method == late_whoami.method)
            c.rpc().async_call<std::string>(path, {}, std::tuple{ms},
                                            mailroom::call_options{.timeout = timeout}, done);
        else
            c.rpc().async_call<std::string>(path, {}, std::tuple{},
                                            mailroom::call_options{.timeout = timeout}, done);
        return id;
    }

    /// whoami to `server` itself (never moved by a policy).
    int to(const std::string& server, std::chrono::milliseconds timeout, int late_ms = -1)
    {
        const int id = c.calls.open(timeout);
        auto done = [this, id](std::error_code ec, std::string who) {
            if (!ec)
                who_.set(id, who);
            c.calls.complete(id, ec);
        };
        if (late_ms >= 0)
            c.rpc().async_call_to<std::string>(server, late_whoami, std::tuple{late_ms},
                                               mailroom::call_options{.timeout = timeout}, done);
        else
            c.rpc().async_call_to<std::string>(server, whoami, std::tuple{},
                                               mailroom::call_options{.timeout = timeout}, done);
        return id;
    }

    /// `n` routed late_whoami calls (1.5 s), half in flight on each server when echo-a is
    /// killed with SIGKILL; returns their ids once all completed.
    std::vector<int> kill_a_mid_call(int n)
    {
        std::vector<int> ids;
        for (int i = 0; i < n; ++i)
            ids.push_back(routed(late_whoami, 1500, 20s));
        // Round robin: half run on each server.
        EXPECT_TRUE(a.wait_started(n / 2));
        EXPECT_TRUE(b.wait_started(n / 2));
        a.kill();
        EXPECT_TRUE(c.calls.wait_all(30s));
        return ids;
    }

    mailroom::test::outcome wait(int id)
    {
        EXPECT_TRUE(c.calls.wait(id, 30s)) << "call " << id << " never completed";
        return c.calls.outcomes(id, 1)[0];
    }

    server_process a;
    server_process b;
    load_client c;
    answers who_;
};

std::shared_ptr<mailroom::failover> failover(bool idempotent_late_whoami)
{
    mailroom::failover::options o;
    if (idempotent_late_whoami)
        o.idempotent = mailroom::idempotent_methods({"echoRemote.late_whoami"});
    return std::make_shared<mailroom::failover>(std::move(o));
}

TEST(PolicyFaults, FailoverMovesIdempotentCallsOffAServerKilledMidCall)
{
    two_servers s({}, failover(true));
    constexpr int n = 10;
    const auto ids = s.kill_a_mid_call(n);
    for (int id : ids) {
        const auto o = s.c.calls.outcomes(id, 1)[0];
        EXPECT_EQ(o.completions, 1);
        EXPECT_EQ(o.ec, std::error_code{}) << "call " << id << ": " << o.ec.message();
        EXPECT_EQ(s.who_.of(id), "echo-b") << "call " << id;
    }
    EXPECT_TRUE(s.b.wait_started(n / 2)) << "echo-a's calls ran again on echo-b";
    EXPECT_EQ(s.c.calls.doubled(), 0);
}

TEST(PolicyFaults, FailoverLeavesACallThatMayHaveRunAsDisconnectedAndMovesCallsNotSent)
{
    two_servers s({}, failover(false));
    constexpr int n = 10;
    const auto ids = s.kill_a_mid_call(n);
    int lost = 0, answered = 0;
    for (int id : ids) {
        const auto o = s.c.calls.outcomes(id, 1)[0];
        EXPECT_EQ(o.completions, 1);
        if (o.ec) {
            // echo-a's calls had started: not idempotent, so never sent again.
            EXPECT_EQ(o.ec, error::disconnected) << o.ec.message();
            ++lost;
        } else {
            EXPECT_EQ(s.who_.of(id), "echo-b");
            ++answered;
        }
    }
    EXPECT_EQ(lost, n / 2);
    EXPECT_EQ(answered, n / 2);

    // echo-a is gone: calls routed to it fail to connect (they never ran) and move.
    std::vector<int> after;
    for (int i = 0; i < n; ++i)
        after.push_back(s.routed(whoami, 0, 10s));
    ASSERT_TRUE(s.c.calls.wait_all(30s));
    for (int id : after) {
        EXPECT_EQ(s.wait(id).ec, std::error_code{});
        EXPECT_EQ(s.who_.of(id), "echo-b");
    }
    EXPECT_EQ(s.c.calls.doubled(), 0);
}

TEST(PolicyFaults, FailbackAnswersAtOnceAndDeliversOnceTheKilledServerIsBackOnItsPort)
{
    server_process srv(0, "tcp", "echo-a");
    const auto port = srv.port();
    load_client c({{"echo-a", port}}, {}, {.connect_timeout = 300ms, .probe_delay = 0ms});
    mailroom::failback::options o;
    o.backoff = {.initial = 50ms, .max = 200ms, .jitter = false};
    auto policy = std::make_shared<mailroom::failback>(o);
    c.rpc().policies().set_default(policy);
    srv.kill();

    const int id = c.calls.open(20s);
    c.rpc().async_call<std::string>(whoami, {}, std::tuple{},
                                    mailroom::call_options{.timeout = 20s},
                                    [&c, id](std::error_code ec, std::string) {
                                        c.calls.complete(id, ec);
                                    });
    ASSERT_TRUE(c.calls.wait(id, 10s));
    const auto first = c.calls.outcomes(id, 1)[0];
    EXPECT_EQ(first.ec, error::connect_failed) << "the caller hears the first attempt's error";
    EXPECT_EQ(policy->stats().queued, 1u);

    server_process back(port, "tcp", "echo-a");
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (policy->stats().delivered == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
    const auto st = policy->stats();
    EXPECT_EQ(st.delivered, 1u);
    EXPECT_EQ(st.queued, 0u);
    EXPECT_EQ(st.given_up, 0u);
    EXPECT_EQ(c.calls.doubled(), 0) << "the caller was answered once";
}

TEST(PolicyFaults, AStoppedServerStallsItsLinkNewCallsFailNotSentAndMoveSentOnesWait)
{
    // Pings after 100 ms of silence; unanswered for 200 ms, the link stalls; it only closes
    // after 20 s, well past the test.
    two_servers s({.keepalive_interval = 100ms, .keepalive_timeout = 20s,
                   .keepalive_stall = 200ms},
                  failover(false));
    ASSERT_EQ(s.wait(s.to("echo-a", 5s)).ec, std::error_code{}); // both links open
    ASSERT_EQ(s.wait(s.to("echo-b", 5s)).ec, std::error_code{});

    // Three calls in flight on echo-a when it stops.
    std::vector<int> sent;
    for (int i = 0; i < 3; ++i)
        sent.push_back(s.to("echo-a", 15s, 300));
    ASSERT_TRUE(s.a.wait_started(3));
    s.a.signal(SIGSTOP);

    // Until the stall, calls to echo-a are still put on the link (and time out); then they
    // fail at once, not sent.
    std::optional<mailroom::test::outcome> refused;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!refused && std::chrono::steady_clock::now() < until) {
        const auto o = s.wait(s.to("echo-a", 150ms));
        if (o.ec == error::not_sent)
            refused = o;
        else
            EXPECT_EQ(o.ec, error::timeout) << o.ec.message();
    }
    ASSERT_TRUE(refused) << "the link never stalled";
    EXPECT_LT(refused->elapsed, 100ms) << "refused at once, not queued";

    // Routed calls all reach echo-b: the router skips the stalled server, and a call that
    // still picks it moves (not sent).
    std::vector<int> routed;
    for (int i = 0; i < 20; ++i)
        routed.push_back(s.routed(whoami, 0, 5s));
    for (int id : routed) {
        const auto o = s.wait(id);
        EXPECT_EQ(o.ec, std::error_code{}) << o.ec.message();
        EXPECT_EQ(s.who_.of(id), "echo-b");
        EXPECT_LT(o.elapsed, 2s);
    }

    // Resumed, echo-a answers the calls sent before it stopped, and takes calls again on the
    // same link.
    s.a.signal(SIGCONT);
    for (int id : sent) {
        const auto o = s.wait(id);
        EXPECT_EQ(o.ec, std::error_code{}) << o.ec.message();
        EXPECT_EQ(s.who_.of(id), "echo-a");
    }
    std::error_code ec = error::not_sent;
    const auto back_until = std::chrono::steady_clock::now() + 10s;
    while (ec && std::chrono::steady_clock::now() < back_until)
        ec = s.wait(s.to("echo-a", 2s)).ec;
    EXPECT_EQ(ec, std::error_code{}) << ec.message();
    EXPECT_EQ(s.c.calls.doubled(), 0);
}

} // namespace
