#include "faults/harness.hpp"
// Test that header file is self-contained.

// Faults of a whole server process (label "faults"; issue 16, item 3): the server runs in a
// child process (fault_server), the load client is a mail station in this process. Each test
// checks that every call completes exactly once, with the error docs/protocol.md promises,
// well before its own timeout, and that the client reconnects by itself.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::load_client;
using mailroom::test::server_process;

TEST(ProcessFaults, KillNineFailsCallsInFlightAsDisconnectedAndTheClientReconnects)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 5s});
    ASSERT_EQ(c.call(), std::error_code{});

    constexpr int n = 20;
    const int first = c.calls.size();
    for (int i = 0; i < n; ++i)
        c.slow_call(60'000, 20s);
    ASSERT_TRUE(srv->wait_started(n)); // all n are in flight on the server
    srv->kill();

    ASSERT_TRUE(c.calls.wait_all(30s));
    for (const auto& o : c.calls.outcomes(first, n)) {
        EXPECT_EQ(o.completions, 1);
        EXPECT_EQ(o.ec, error::disconnected) << o.ec.message();
        EXPECT_LT(o.elapsed, 5s); // the kernel closes the dead process's sockets at once
    }

    // A call while no server listens waits for the connect (refused connects are retried
    // within connect_timeout), and goes out once the server is back on the same port.
    const int queued = c.add(20s);
    srv.emplace(port);
    ASSERT_EQ(srv->port(), port);
    ASSERT_TRUE(c.calls.wait(queued));
    EXPECT_EQ(c.calls.outcomes(queued, 1)[0].ec, std::error_code{});
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(ProcessFaults, KillNineWhileDownForLongerThanTheConnectTimeoutFailsConnectFailed)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 300ms, .probe_delay = 0ms});
    ASSERT_EQ(c.call(), std::error_code{});
    srv->kill();
    // The link may still look open for a moment: a call sent on it sees disconnected, one
    // that waits for the connect sees connect_failed after connect_timeout. Never a hang.
    const auto ec = c.call(5s);
    EXPECT_TRUE(ec == error::connect_failed || ec == error::disconnected || ec == error::not_sent)
        << ec.message();
    EXPECT_EQ(c.call(5s), error::connect_failed);
    srv.emplace(port);
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(ProcessFaults, AKilledServerIsMarkedDownAndAProbeBringsItBack)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 2s, .probe_delay = 50ms, .max_probe_delay = 100ms});
    ASSERT_EQ(c.call(), std::error_code{});
    srv->kill();
    // Until one connect cycle has failed (a call on the dying link may see disconnected).
    std::error_code ec;
    for (int i = 0; i < 3 && ec != error::connect_failed; ++i)
        ec = c.call(10s);
    ASSERT_EQ(ec, error::connect_failed);
    // Down: a call fails at once instead of waiting out a connect cycle of its own.
    const int id = c.add(10s);
    ASSERT_TRUE(c.calls.wait(id, 20s));
    const auto down = c.calls.outcomes(id, 1)[0];
    EXPECT_EQ(down.ec, error::connect_failed);
    EXPECT_LT(down.elapsed, 1s) << "well within the 2 s connect timeout";
    // Back on the same port: a probe finds it; a failsafe call retries until then.
    srv.emplace(port);
    mailroom::failsafe::options retry;
    retry.max_retries = 1000;
    retry.backoff = {.initial = 10ms, .max = 10ms, .jitter = false};
    c.rpc().policies().set_default(std::make_shared<mailroom::failsafe>(retry));
    EXPECT_EQ(c.call(10s), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(ProcessFaults, SigstopLongerThanTheKeepaliveFailsCallsWithinTheWindowThenSigcontRecovers)
{
    server_process srv;
    constexpr auto keepalive = 300ms;
    load_client c(srv.port(), {.keepalive_interval = 50ms, .keepalive_timeout = keepalive},
                  {.connect_timeout = 500ms, .probe_delay = 0ms});
    ASSERT_EQ(c.call(), std::error_code{});

    srv.signal(SIGSTOP);
    // The kernel still accepts the bytes of a stopped process; only silence tells.
    constexpr int n = 10;
    const int first = c.calls.size();
    for (int i = 0; i < n; ++i)
        c.add(10s);
    const int short_call = c.add(100ms);
    ASSERT_TRUE(c.calls.wait_all(20s));
    for (const auto& o : c.calls.outcomes(first, n)) {
        EXPECT_EQ(o.completions, 1);
        // Closed for keepalive_timeout; the calls on the link see disconnected.
        EXPECT_EQ(o.ec, error::disconnected) << o.ec.message();
        EXPECT_GE(o.elapsed, keepalive - 50ms);
        // silence plus at most a check period (350 ms), with room for a loaded machine; not 10 s
        EXPECT_LT(o.elapsed, 3 * keepalive + 1s);
    }
    const auto s = c.calls.outcomes(short_call, 1)[0];
    EXPECT_EQ(s.ec, error::timeout) << s.ec.message();
    EXPECT_LT(s.elapsed, 1s);

    // Still stopped: the TCP connect succeeds (the kernel's backlog) but no hello_ack comes.
    const int while_stopped = c.add(5s);
    ASSERT_TRUE(c.calls.wait(while_stopped));
    const auto w = c.calls.outcomes(while_stopped, 1)[0];
    EXPECT_EQ(w.ec, error::connect_failed) << w.ec.message();
    EXPECT_LT(w.elapsed, 2s);

    // A call whose own timeout ends before connect_timeout ends at its deadline.
    const int hurried = c.add(100ms);
    ASSERT_TRUE(c.calls.wait(hurried));
    const auto h = c.calls.outcomes(hurried, 1)[0];
    EXPECT_EQ(h.ec, error::timeout) << h.ec.message();
    EXPECT_LT(h.elapsed, 1s);

    srv.signal(SIGCONT);
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(ProcessFaults, KillNineDuringTheHandshakeThenRestart)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 5s});
    srv->signal(SIGSTOP); // the TCP connect completes in the kernel; the hello waits
    const int queued = c.add(10s);
    // The hello reached the stopped server's socket (the kernel accepted the connection and
    // holds the bytes): the kill resets a link in the middle of its handshake.
    ASSERT_TRUE(
        mailroom::test::eventually([&] { return mailroom::test::unread_bytes_at(port) > 0; }));
    srv->kill();
    srv.emplace(port);
    ASSERT_TRUE(c.calls.wait(queued));
    const auto q = c.calls.outcomes(queued, 1)[0];
    // A reset handshake is retried within connect_timeout, like a refused connect.
    EXPECT_EQ(q.ec, std::error_code{}) << q.ec.message();
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(ProcessFaults, KillNineUnderConcurrentLoadCompletesEveryCallOnce)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 5s});
    ASSERT_EQ(c.call(), std::error_code{});
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    for (int t = 0; t < 3; ++t)
        load.emplace_back([&] {
            while (!stop) {
                std::vector<int> batch;
                for (int i = 0; i < 20; ++i)
                    batch.push_back(c.add(10s));
                for (int id : batch)
                    if (!c.calls.wait(id, 30s))
                        return;
            }
        });
    constexpr int kills = 5;
    for (int k = 0; k < kills; ++k) {
        EXPECT_TRUE(c.calls.wait_successes(100 * (k + 1) + 1)) << "kill " << k;
        srv->kill();
        srv.emplace(port);
    }
    stop = true;
    for (auto& t : load)
        t.join();
    ASSERT_TRUE(c.calls.wait_all(30s));
    const int n = c.calls.size();
    for (const auto& o : c.calls.outcomes(0, n)) {
        EXPECT_EQ(o.completions, 1);
        EXPECT_TRUE(!o.ec || o.ec == error::disconnected || o.ec == error::not_sent)
            << o.ec.message();
    }
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

} // namespace
