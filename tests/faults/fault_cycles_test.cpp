#include "faults/child_process.hpp"
// Test that header file is self-contained.

// Ten cycles of each fault (label "faults"; issue 16, item 3): afterwards the server's RSS
// and open descriptors, and this client process's descriptors, are back near their baseline.
// Every call of every cycle completed exactly once.

#include <gtest/gtest.h>

#include <cstdlib>

#include "faults/fault_proxy.hpp"
#include "faults/harness.hpp"

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::eventually;
using mailroom::test::fault_proxy;
using mailroom::test::fd_count;
using mailroom::test::load_client;
using mailroom::test::own_fd_count;
using mailroom::test::rss_kib;
using mailroom::test::server_process;

constexpr int cycles = 10;
/// RSS a server may keep above its baseline after the cycles (allocator caches, one-off
/// growth of buffers); a leak of one read buffer per broken link would exceed it.
constexpr std::size_t rss_slack_kib = 1024;

/// `a` and `b` differ by at most `d`.
bool near(std::size_t a, std::size_t b, std::size_t d)
{
    return (a > b ? a - b : b - a) <= d;
}

TEST(FaultCycles, TenKillRestartCyclesLeaveNoDescriptorsBehind)
{
    std::optional<server_process> srv(std::in_place);
    const auto port = srv->port();
    load_client c(port, {}, {.connect_timeout = 5s});
    ASSERT_EQ(c.call(), std::error_code{});
    const auto client_fds = own_fd_count();
    const auto server_fds = fd_count(srv->pid());
    const auto server_rss = rss_kib(srv->pid());

    for (int i = 0; i < cycles; ++i) {
        const int first = c.calls.size();
        for (int k = 0; k < 5; ++k)
            c.slow_call(60'000, 20s);
        ASSERT_TRUE(srv->wait_started(5));
        srv->kill();
        ASSERT_TRUE(c.calls.wait_all(20s));
        for (const auto& o : c.calls.outcomes(first, 5))
            EXPECT_EQ(o.ec, error::disconnected) << "cycle " << i << ": " << o.ec.message();
        srv.emplace(port);
        ASSERT_EQ(c.call(), std::error_code{}) << "cycle " << i;
    }
    EXPECT_EQ(c.calls.doubled(), 0);
    // The same shape as at the baseline: one live link, on each end.
    EXPECT_TRUE(eventually([&] { return near(own_fd_count(), client_fds, 1); }))
        << own_fd_count() << " descriptors, baseline " << client_fds;
    EXPECT_TRUE(near(fd_count(srv->pid()), server_fds, 1));
    EXPECT_LE(rss_kib(srv->pid()), server_rss + rss_slack_kib);
}

TEST(FaultCycles, TenCyclesOfEveryProxyFaultLeaveTheServerAndClientAtTheirBaseline)
{
    server_process srv;
    fault_proxy proxy(srv.port());
    load_client c(proxy.port(), {.keepalive_interval = 50ms, .keepalive_timeout = 300ms},
                  {.connect_timeout = 200ms, .probe_delay = 0ms});

    auto one_cycle = [&](int i) {
        // drop: calls fail at the keepalive
        proxy.drop();
        const int dropped = c.add(5s);
        ASSERT_TRUE(c.calls.wait(dropped));
        EXPECT_EQ(c.calls.outcomes(dropped, 1)[0].ec, error::disconnected) << "cycle " << i;
        // and a new link's hello goes nowhere: the connect fails (its socket must not stay)
        EXPECT_EQ(c.call(), error::connect_failed) << "cycle " << i;
        proxy.pass();
        ASSERT_EQ(c.call(), std::error_code{}) << "cycle " << i;
        // delay: a late answer
        proxy.delay(20ms);
        ASSERT_EQ(c.call(), std::error_code{}) << "cycle " << i;
        proxy.pass();
        // truncate, corrupt, reset: calls in flight see disconnected
        for (int f = 0; f < 3; ++f) {
            const int first = c.calls.size();
            if (f == 0)
                proxy.truncate_next_response();
            if (f == 1)
                proxy.corrupt_next_response();
            for (int k = 0; k < 3; ++k)
                c.slow_call(f == 2 ? 60'000 : 50, 20s);
            ASSERT_TRUE(srv.wait_started(3));
            if (f == 2)
                proxy.reset();
            ASSERT_TRUE(c.calls.wait_all(20s));
            for (const auto& o : c.calls.outcomes(first, 3))
                EXPECT_EQ(o.ec, error::disconnected) << "cycle " << i << " fault " << f;
            ASSERT_EQ(c.call(), std::error_code{}) << "cycle " << i << " fault " << f;
        }
    };

    ASSERT_EQ(c.call(), std::error_code{});
    one_cycle(-1); // warm-up: buffers and allocator arenas reach their working size
    ASSERT_TRUE(eventually([&] { return proxy.open_connections() == 1; }));
    const auto client_fds = own_fd_count();
    const auto server_fds = fd_count(srv.pid());
    const auto server_rss = rss_kib(srv.pid());

    for (int i = 0; i < cycles; ++i)
        one_cycle(i);

    EXPECT_EQ(c.calls.doubled(), 0);
    // The sockets of broken links close on both ends once their peers notice.
    EXPECT_TRUE(eventually([&] { return proxy.open_connections() == 1; }))
        << proxy.open_connections() << " proxied connections";
    EXPECT_TRUE(eventually([&] { return near(own_fd_count(), client_fds, 1); }))
        << own_fd_count() << " descriptors, baseline " << client_fds;
    EXPECT_TRUE(eventually([&] { return near(fd_count(srv.pid()), server_fds, 1); }))
        << fd_count(srv.pid()) << " server descriptors, baseline " << server_fds;
    EXPECT_LE(rss_kib(srv.pid()), server_rss + rss_slack_kib)
        << "server RSS " << rss_kib(srv.pid()) << " KiB, baseline " << server_rss << " KiB";
    std::fprintf(stderr, "server RSS %zu -> %zu KiB, fds %zu -> %zu; client fds %zu -> %zu\n",
                 server_rss, rss_kib(srv.pid()), server_fds, fd_count(srv.pid()), client_fds,
                 own_fd_count());
}

} // namespace
