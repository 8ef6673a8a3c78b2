#include <mailroom/testing/cluster.hpp>
// Test that header file is self-contained.

#include "area_service.hpp"
#include "play.hpp"
#include "support/wait.hpp"

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::route_param;
using mailroom::test::wait;

/// `wait` on a future made in place.
template <class T>
T wait(std::future<T>&& f)
{
    return mailroom::test::wait(f);
}
namespace asio = boost::asio;

/// The area example's two area servers, its route and its client filter, in one process.
struct area_cluster : ::testing::Test {
    world::area_service one, two;
    std::shared_ptr<world::gatekeeper> gate = std::make_shared<world::gatekeeper>();
    mailroom::testing::cluster<world::world_rpc> c{{.station = {.connect_timeout = 300ms}}};

    // Two areas that the route sends to different servers.
    world::session alice{"alice", "forest"};
    world::session bob{"bob", "cave"};

    void SetUp() override
    {
        c.add_server("area-server-1", "area").serve<world::area_remote>(one);
        c.add_server("area-server-2", "area").serve<world::area_remote>(two);
        c.routes().set("area", world::route_by_area);
        c.client_filters().add(gate);
        ASSERT_NE(mailroom::crc32(alice.area) % 2, mailroom::crc32(bob.area) % 2)
            << "pick areas on different servers";
    }

    std::string server_of(const world::session& s) const
    {
        return mailroom::crc32(s.area) % 2 == 0 ? "area-server-1" : "area-server-2";
    }

    auto enter(const world::session& s, std::chrono::milliseconds timeout = 5s)
    {
        return wait(c.rpc.area.areaRemote.with({.timeout = timeout})
                        .enter(route_param::of(s), s.uid, asio::use_future));
    }
};

TEST_F(area_cluster, RoutesEachSessionToTheServerOfItsArea)
{
    ASSERT_FALSE(std::get<0>(enter(alice)));
    ASSERT_FALSE(std::get<0>(enter(bob)));
    auto [ec, moved] = wait(c.rpc.area.areaRemote.move(route_param::of(alice), "alice", {2, 7},
                                                       asio::use_future));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(moved.y, 7);
    auto [ec2, players] = wait(c.rpc.area.areaRemote.to_server(server_of(alice)).who(asio::use_future));
    ASSERT_FALSE(ec2) << ec2.message();
    ASSERT_EQ(players.size(), 1u) << "bob is on the other server";
    EXPECT_EQ(players[0].uid, "alice");
    EXPECT_EQ(players[0].at.x, 2);
}

TEST_F(area_cluster, AHungServerTimesOutItsCallersOnlyAndResumes)
{
    c.hang(server_of(alice));
    EXPECT_EQ(std::get<0>(enter(alice, 100ms)), error::timeout);
    EXPECT_FALSE(std::get<0>(enter(bob, 5s))) << "the other server still answers";
    c.resume(server_of(alice));
    EXPECT_FALSE(std::get<0>(enter(alice)));
}

TEST_F(area_cluster, ASlowServerAnswersLate)
{
    c.slow_down(server_of(alice), 200ms);
    EXPECT_EQ(std::get<0>(enter(alice, 50ms)), error::timeout);
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(std::get<0>(enter(alice, 5s)));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
    c.resume(server_of(alice));
}

TEST_F(area_cluster, AStoppedServerFailsCallsUntilItRestarts)
{
    ASSERT_FALSE(std::get<0>(enter(alice)));
    c.stop(server_of(alice));
    auto [ec, ignored] = enter(alice);
    EXPECT_TRUE(ec == error::connect_failed || ec == error::disconnected) << ec.message();
    c.restart(server_of(alice));
    auto [ec2, at] = enter(alice);
    EXPECT_FALSE(ec2) << ec2.message() << ": the station reconnects";
}

TEST_F(area_cluster, ADrainingServerRefusesNewCalls)
{
    ASSERT_FALSE(std::get<0>(enter(bob))) << "connected before the drain";
    c.drain(server_of(bob));
    EXPECT_EQ(std::get<0>(enter(bob)), error::shutting_down);
    EXPECT_FALSE(std::get<0>(enter(alice)));
}

TEST_F(area_cluster, TheClientFilterStopsCallsToAClosedServer)
{
    gate->close_server(server_of(bob));
    EXPECT_EQ(std::get<0>(enter(bob)), error::server_busy);
    EXPECT_FALSE(std::get<0>(enter(alice)));
    gate->open_server(server_of(bob));
    EXPECT_FALSE(std::get<0>(enter(bob)));
}

} // namespace
