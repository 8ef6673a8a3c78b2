#include "faults/harness.hpp"
// Test that header file is self-contained.

// The process and link faults of the tcp tests, on the ws transport (label "faults"; issue
// 16, item 3): the server is fault_server over WebSocket, the link faults come from a
// fault_proxy in pass-through mode that drops, delays or resets (its frame-aware faults know
// the native tcp framing only).

#include <gtest/gtest.h>

#include <csignal>

#include "faults/fault_proxy.hpp"

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::fault_proxy;
using mailroom::test::load_client;
using mailroom::test::server_process;

constexpr auto keepalive = 300ms;
const mailroom::tcp::stream_options short_keepalive{.keepalive_interval = 50ms,
                                                    .keepalive_timeout = keepalive};

/// Every call in [first, first + n) completed once with `expected` within `within`.
void expect_all(load_client& c, int first, int n, std::error_code expected,
                std::chrono::milliseconds within)
{
    ASSERT_TRUE(c.calls.wait_all(30s));
    for (const auto& o : c.calls.outcomes(first, n)) {
        EXPECT_EQ(o.completions, 1);
        EXPECT_EQ(o.ec, expected) << o.ec.message();
        EXPECT_LT(o.elapsed, within);
    }
}

TEST(WsFaults, KillNineFailsCallsInFlightAsDisconnectedAndRestartHeals)
{
    std::optional<server_process> srv(std::in_place, 0, "ws");
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 5s}, "ws");
    ASSERT_EQ(c.call(), std::error_code{});
    constexpr int n = 10;
    const int first = c.calls.size();
    for (int i = 0; i < n; ++i)
        c.slow_call(60'000, 20s);
    ASSERT_TRUE(srv->wait_started(n));
    srv->kill();
    expect_all(c, first, n, error::disconnected, 5s);
    const int queued = c.add(20s);
    srv.emplace(port, "ws");
    ASSERT_TRUE(c.calls.wait(queued));
    EXPECT_EQ(c.calls.outcomes(queued, 1)[0].ec, std::error_code{});
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(WsFaults, SigstopFailsCallsAtTheKeepaliveThenSigcontRecovers)
{
    server_process srv(0, "ws");
    load_client c(srv.port(), short_keepalive, {.connect_timeout = 500ms, .probe_delay = 0ms},
                  "ws");
    ASSERT_EQ(c.call(), std::error_code{});
    srv.signal(SIGSTOP);
    constexpr int n = 10;
    const int first = c.calls.size();
    for (int i = 0; i < n; ++i)
        c.add(10s);
    expect_all(c, first, n, error::disconnected, 3 * keepalive + 1s);
    EXPECT_EQ(c.call(5s), error::connect_failed); // the upgrade is never answered
    srv.signal(SIGCONT);
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

TEST(WsFaults, ProxyDropResetAndDelay)
{
    server_process srv(0, "ws");
    fault_proxy proxy(srv.port());
    load_client c(proxy.port(), short_keepalive, {.connect_timeout = 500ms, .probe_delay = 0ms},
                  "ws");
    ASSERT_EQ(c.call(), std::error_code{});

    proxy.drop();
    int first = c.calls.size();
    for (int i = 0; i < 5; ++i)
        c.add(10s);
    expect_all(c, first, 5, error::disconnected, 3 * keepalive + 1s);
    EXPECT_EQ(c.call(5s), error::connect_failed);
    proxy.pass();
    ASSERT_EQ(c.call(), std::error_code{});

    first = c.calls.size();
    for (int i = 0; i < 5; ++i)
        c.slow_call(60'000, 20s);
    ASSERT_TRUE(srv.wait_started(5));
    EXPECT_EQ(proxy.reset(), 1u);
    expect_all(c, first, 5, error::disconnected, 5s);
    ASSERT_EQ(c.call(), std::error_code{});

    proxy.delay(100ms);
    const int slow = c.add(5s);
    const int hurried = c.add(30ms);
    ASSERT_TRUE(c.calls.wait_all(20s));
    EXPECT_EQ(c.calls.outcomes(slow, 1)[0].ec, std::error_code{});
    EXPECT_EQ(c.calls.outcomes(hurried, 1)[0].ec, error::timeout);
    proxy.pass();
    EXPECT_EQ(c.call(), std::error_code{});
    EXPECT_EQ(c.calls.doubled(), 0);
}

} // namespace
