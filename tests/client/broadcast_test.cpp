#include <mailroom/client/broadcast.hpp>
// Test that header file is self-contained.

#include "support/fake_servers.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/error.hpp>
#include <mailroom/remote.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>

namespace mailroom::test {

MAILROOM_REMOTE(board_remote, board,
    (score, int(std::string player))
    (reset, void())
    (announce, mailroom::no_reply(std::string text)));

struct game_rpc : rpc_base {
    using rpc_base::rpc_base;
    server_type<"area", board_remote> area{*this};
};

} // namespace mailroom::test

namespace {

using namespace std::chrono_literals;
using mailroom::broadcast_result;
using mailroom::error;
using mailroom::test::fake_mailbox;
using mailroom::test::fake_transport;
using mailroom::test::run_until;
namespace asio = boost::asio;

/// area-1 to area-3 (see fake_servers), chat-1, the proxy and the typed stubs.
struct broadcast_fixture : ::testing::Test, mailroom::test::fake_servers {
    std::optional<mailroom::proxy> rpc;
    std::optional<mailroom::test::game_rpc> typed;

    void SetUp() override
    {
        start("area");
        station->add_server({.id = "chat-1", .server_type = "chat", .transport = "t1"});
        rpc.emplace(*station, router);
        typed.emplace(*rpc);
    }

    std::uint64_t first_request(const std::shared_ptr<fake_mailbox>& box)
    {
        return nth_request(box, 1);
    }
};

TEST_F(broadcast_fixture, EveryServerOfTheTypeAnswersOnceAndADownServerOnlyAddsItsError)
{
    std::optional<broadcast_result<int>> got;
    int completions = 0;
    typed->area.board.score.to_all("ann", [&](broadcast_result<int> r) {
        ++completions;
        got = std::move(r);
    });
    auto b1 = open(0);
    auto b2 = open(1);
    b1->respond(first_request(b1), 10);
    b2->respond_error(first_request(b2), make_error_code(error::remote_error), "no such player");
    ASSERT_TRUE(run_until(ioc, [&] { return got.has_value(); }));
    ioc.poll();
    EXPECT_EQ(completions, 1);
    ASSERT_EQ(got->size(), 3u) << "chat-1 is not of the type";
    EXPECT_FALSE(got->at("area-1").error);
    EXPECT_EQ(got->at("area-1").value, 10);
    EXPECT_EQ(got->at("area-2").error, error::remote_error);
    EXPECT_EQ(got->at("area-3").error, error::connect_failed);
    EXPECT_FALSE(got->at("area-3"));
}

TEST_F(broadcast_fixture, VoidMethodsAndNotifiesReportEachServersOutcome)
{
    std::optional<broadcast_result<void>> reset, announced;
    typed->area.board.reset.to_all([&](broadcast_result<void> r) { reset = std::move(r); });
    typed->area.board.announce.to_all("hello", [&](broadcast_result<void> r) {
        announced = std::move(r);
    });
    auto b1 = open(0);
    auto b2 = open(1);
    b1->respond(first_request(b1), msgpack::type::nil_t{});
    b2->respond(first_request(b2), msgpack::type::nil_t{});
    ASSERT_TRUE(run_until(ioc, [&] { return reset && announced; }));
    ASSERT_EQ(reset->size(), 3u);
    EXPECT_FALSE(reset->at("area-1").error);
    EXPECT_FALSE(reset->at("area-2").error);
    EXPECT_EQ(reset->at("area-3").error, error::connect_failed);
    ASSERT_EQ(announced->size(), 3u);
    EXPECT_FALSE(announced->at("area-1").error);
    EXPECT_FALSE(announced->at("area-2").error);
    EXPECT_TRUE(announced->at("area-3").error);
    EXPECT_EQ(b1->sent_count(), 3u) << "hello, the reset and the announce";
}

TEST_F(broadcast_fixture, ATypeWithoutServersCompletesWithAnEmptyMapNotInline)
{
    bool inside = true, done = false;
    const mailroom::protocol::method_path path{.server_type = "nobody", .service = "board",
                                               .method = "score"};
    rpc->async_call_all<int>(path, std::tuple{std::string("x")}, [&](broadcast_result<int> r) {
        EXPECT_FALSE(inside) << "the handler never runs inside the call that starts it";
        EXPECT_TRUE(r.empty());
        done = true;
    });
    inside = false;
    ASSERT_TRUE(run_until(ioc, [&] { return done; }));
}

TEST_F(broadcast_fixture, DynamicBroadcastWorksWithCoroutines)
{
    std::optional<broadcast_result<mailroom::reply>> got;
    const mailroom::protocol::method_path path{.server_type = "area", .service = "board",
                                               .method = "score"};
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            got = co_await rpc->async_call_all(path, std::tuple{std::string("bo")}, {.timeout = 5s},
                                               asio::use_awaitable);
        },
        asio::detached);
    auto b1 = open(0);
    auto b2 = open(1);
    b1->respond(first_request(b1), 1);
    b2->respond(first_request(b2), 2);
    ASSERT_TRUE(run_until(ioc, [&] { return got.has_value(); }));
    ASSERT_EQ(got->size(), 3u);
    EXPECT_EQ(got->at("area-1").value.as<int>(), 1);
    EXPECT_EQ(got->at("area-2").value.as<int>(), 2);
    EXPECT_EQ(got->at("area-3").error, error::connect_failed);
}

} // namespace
