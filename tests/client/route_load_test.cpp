#include <mailroom/client/router.hpp>
// Test that header file is self-contained.

#include "support/fake_transport.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

// Routers on a station's live load: the calls in flight per server that the station counts
// as calls are admitted and completed. Driven by hand on the fake transport: no sleeps, no
// timing.

namespace {

using namespace std::chrono_literals;
using mailroom::test::fake_mailbox;
using mailroom::test::fake_transport;
using mailroom::test::run_until;
namespace asio = boost::asio;

const mailroom::protocol::method_path add_path{.server_type = "area", .service = "calc",
                                               .method = "add"};

/// Three servers of type "area", each on its own fake transport (so the test knows which
/// mail box is whose); "area-1" is the slow one.
struct load_fixture : ::testing::Test {
    asio::io_context ioc;
    fake_transport transports[3];
    std::optional<mailroom::mail_station> station;
    mailroom::router router;
    std::optional<mailroom::proxy> rpc;
    std::size_t answered[3] = {0, 0, 0};
    bool opened[3] = {false, false, false};
    int completed = 0, failed = 0;

    void SetUp() override
    {
        mailroom::mail_station_options o;
        o.log.min_level = mailroom::log_level::off;
        station.emplace(ioc.get_executor(), o);
        for (int i = 0; i < 3; ++i) {
            const std::string t = "t" + std::to_string(i);
            station->add_transport(t, transports[i].factory());
            station->add_server(
                {.id = "area-" + std::to_string(i), .server_type = "area", .transport = t});
        }
        rpc.emplace(*station, router);
    }

    std::shared_ptr<fake_mailbox> box(int i)
    {
        return transports[i].created() ? transports[i].last() : nullptr;
    }

    /// Answers the requests server `i` has received and not answered yet.
    void answer(int i)
    {
        auto b = box(i);
        if (!b)
            return;
        const auto ids = b->sent_request_ids();
        for (; answered[i] < ids.size(); ++answered[i])
            b->respond(ids[answered[i]], 3);
    }

    /// Requests server `i` received.
    std::size_t received(int i)
    {
        auto b = box(i);
        return b ? b->sent_request_ids().size() : 0;
    }

    /** Makes `calls` calls through the router. The fast servers answer after every call; the
        slow one answers only every `slow_every` calls.
    */
    void drive(int calls, int slow_every)
    {
        for (int c = 0; c < calls; ++c) {
            rpc->async_call<int>(add_path, mailroom::route_param(), std::tuple{1, 2},
                                 [this](std::error_code ec, int v) {
                                     ++completed;
                                     if (ec || v != 3)
                                         ++failed;
                                 });
            for (int i = 0; i < 3; ++i)
                if (auto b = box(i); b && !opened[i]) {
                    b->open(); // a new mail box: connect it and ack its hello
                    opened[i] = true;
                }
            answer(0);
            answer(2);
            if ((c + 1) % slow_every == 0)
                answer(1);
            ioc.poll();
        }
    }
};

TEST_F(load_fixture, StationReportsCallsInFlightPerServer)
{
    router.set_default([](const mailroom::route_param&, const mailroom::protocol::method_path&,
                          const mailroom::route_context&) { return std::string("area-2"); });
    for (int i = 0; i < 4; ++i)
        rpc->async_call<int>(add_path, "k", std::tuple{1, 2}, [this](std::error_code, int) {
            ++completed;
        });
    ASSERT_TRUE(box(2));
    box(2)->open();
    auto view = mailroom::detail::view_of(*station);
    const auto ctx = mailroom::detail::context_of(*view);
    EXPECT_TRUE(ctx.has_load());
    EXPECT_EQ(ctx.in_flight(*ctx.find("area-2")), 4u);
    EXPECT_EQ(ctx.in_flight(*ctx.find("area-0")), 0u); // never called: no slot yet
    answer(2);
    EXPECT_EQ(ctx.in_flight(*ctx.find("area-2")), 0u);
    ASSERT_TRUE(run_until(ioc, [&] { return completed == 4; }));
}

TEST_F(load_fixture, LeastActiveSteersAwayFromASlowServer)
{
    router.set("area", mailroom::routes::least_active());
    drive(600, 50);
    for (int i = 0; i < 3; ++i)
        answer(i);
    ASSERT_TRUE(run_until(ioc, [&] { return completed == 600; }));
    EXPECT_EQ(failed, 0);
    std::printf("least_active, slow server answering every 50 calls: %zu / %zu / %zu calls\n",
                received(0), received(1), received(2));
    EXPECT_EQ(received(0) + received(1) + received(2), 600u);
    EXPECT_LT(received(1), 60u); // under 10 % where random sends a third
    EXPECT_GT(received(0), 240u);
    EXPECT_GT(received(2), 240u);
}

TEST_F(load_fixture, RandomDoesNotSeeTheSlowServer)
{
    // The contrast: a router blind to load keeps feeding the slow server its share.
    router.set("area", mailroom::routes::random());
    drive(600, 50);
    for (int i = 0; i < 3; ++i)
        answer(i);
    ASSERT_TRUE(run_until(ioc, [&] { return completed == 600; }));
    EXPECT_EQ(failed, 0);
    std::printf("random, slow server answering every 50 calls: %zu / %zu / %zu calls\n",
                received(0), received(1), received(2));
    EXPECT_GT(received(1), 120u);
}

} // namespace
