#include <mailroom/remote.hpp>
// Test that header file is self-contained.

#include "remote/contract.hpp"
#include "support/tcp_cluster.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::game_remote;
using mailroom::test::game_rpc;
using mailroom::test::wait;
namespace asio = boost::asio;

/// One implementation per handler form.
struct game_impl {
    std::atomic<int> running{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> pings{0};
    std::mutex mu;
    std::vector<std::string> touched;
    std::promise<void> pinged;

    int add(int a, int b)
    {
        // Serialized per service: two calls never overlap.
        if (running.fetch_add(1) != 0)
            ++overlaps;
        int r = a + b;
        running.fetch_sub(1);
        return r;
    }
    std::string greet(const mailroom::call_context& ctx, const std::string& name)
    {
        return "hello " + name + " from " + std::string(ctx.path.service) + "." +
               std::string(ctx.path.method);
    }
    asio::awaitable<int> slow_double(const mailroom::call_context& ctx, int x)
    {
        asio::steady_timer t(ctx.executor, 1ms);
        co_await t.async_wait(asio::use_awaitable);
        co_return 2 * x;
    }
    void lookup(std::string key, int value, mailroom::reply_callback<std::map<std::string, int>> cb)
    {
        cb({{key, value}});
    }
    void touch(std::string who)
    {
        std::lock_guard lock(mu);
        touched.push_back(who);
    }
    std::string whoami(const mailroom::call_context& ctx) { return std::string(ctx.caller_id); }
    int boom(std::string why) { throw std::runtime_error(why); }
    void ping(int)
    {
        if (++pings == 3)
            pinged.set_value();
    }
};

/// A server of type "game" with game_remote bound on a strand, and the typed stubs.
struct remote_fixture : ::testing::Test {
    mailroom::test::tcp_cluster c{4, {.client_id = "tester-1"}};
    game_impl impl;
    std::optional<game_rpc> rpc;

    void SetUp() override
    {
        c.bind_more = [this](mailroom::dispatcher& d) {
            game_remote::bind(d, impl, asio::make_strand(c.ioc));
        };
        c.server_id = "game-1";
        c.server_type = "game";
        c.start_server();
        rpc.emplace(*c.rpc);
    }
};

TEST_F(remote_fixture, EveryHandlerFormAnswersThroughTheTypedStub)
{
    auto& g = rpc->game.gameRemote;
    auto sum = g.add("k", 2, 3, asio::use_future);
    auto hi = g.greet("k", "ann", asio::use_future);
    auto dbl = g.slow_double("k", 21, asio::use_future);
    auto map = g.lookup("k", "gold", 7, asio::use_future);
    auto who = g.whoami("k", asio::use_future);
    EXPECT_EQ(wait(sum), std::make_tuple(std::error_code{}, 5));
    EXPECT_EQ(wait(hi), std::make_tuple(std::error_code{}, std::string("hello ann from gameRemote.greet")));
    EXPECT_EQ(wait(dbl), std::make_tuple(std::error_code{}, 42));
    EXPECT_EQ(std::get<1>(wait(map)).at("gold"), 7);
    EXPECT_EQ(wait(who), std::make_tuple(std::error_code{}, std::string("tester-1")));
}

TEST_F(remote_fixture, AVoidMethodAcknowledgesCompletion)
{
    std::promise<std::error_code> done;
    rpc->game.gameRemote.touch("k", "bob", [&](std::error_code ec) { done.set_value(ec); });
    auto f = done.get_future();
    EXPECT_FALSE(wait(f));
    std::lock_guard lock(impl.mu);
    EXPECT_EQ(impl.touched, std::vector<std::string>{"bob"}) << "the handler ran before the ack";
}

TEST_F(remote_fixture, ANotifyMethodIsFireAndForget)
{
    for (int i = 0; i < 3; ++i) {
        auto sent = rpc->game.gameRemote.ping("k", i, asio::use_future);
        EXPECT_FALSE(wait(sent));
    }
    auto f = impl.pinged.get_future();
    wait(f);
    EXPECT_EQ(impl.pings.load(), 3);
}

TEST_F(remote_fixture, ToServerBypassesTheRouter)
{
    auto direct = rpc->game.gameRemote.to_server("game-1").add(4, 5, asio::use_future);
    EXPECT_EQ(wait(direct), std::make_tuple(std::error_code{}, 9));
    auto nowhere = rpc->game.gameRemote.to_server("game-9").add(4, 5, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(nowhere)), error::unknown_server);
}

TEST_F(remote_fixture, AThrowingImplementationAnswersRemoteError)
{
    auto f = rpc->game.gameRemote.boom("k", "no mana", asio::use_future);
    EXPECT_EQ(std::get<0>(wait(f)), error::remote_error);
}

TEST_F(remote_fixture, ATypedCallHandsTheRemotesMessageToItsDiagnostics)
{
    mailroom::diagnostics diag;
    auto f = rpc->game.gameRemote.boom("k", "no mana", diag, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(f)), error::remote_error);
    EXPECT_NE(diag.remote_message().find("no mana"), std::string::npos) << diag.remote_message();

    // The next call clears it.
    auto ok = rpc->game.gameRemote.add("k", 1, 2, diag, asio::use_future);
    EXPECT_EQ(wait(ok), std::make_tuple(std::error_code{}, 3));
    EXPECT_TRUE(diag.remote_message().empty());

    // to_server, a callback: filled before the handler runs.
    std::promise<std::string> seen;
    rpc->game.gameRemote.to_server("game-1").boom("out of gold", diag,
                                                  [&](std::error_code ec, int) {
                                                      seen.set_value(ec == error::remote_error
                                                                         ? diag.remote_message()
                                                                         : ec.message());
                                                  });
    auto s = seen.get_future();
    EXPECT_NE(wait(s).find("out of gold"), std::string::npos);
}

TEST_F(remote_fixture, ADynamicTypedCallTakesItsDiagnosticsInTheCallOptions)
{
    mailroom::diagnostics diag;
    auto f = c.rpc->async_call<int>({.server_type = "game", .service = "gameRemote", .method = "boom"},
                                    "k", std::tuple{std::string("no arrows")}, {.diag = &diag},
                                    asio::use_future);
    EXPECT_EQ(std::get<0>(wait(f)), error::remote_error);
    EXPECT_NE(diag.remote_message().find("no arrows"), std::string::npos) << diag.remote_message();

    // A local error leaves it empty: the remote said nothing.
    auto nowhere = c.rpc->async_call_to<int>("game-9", {.server_type = "game", .service = "gameRemote",
                                                        .method = "add"},
                                             std::tuple{1, 2}, {.diag = &diag}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(nowhere)), error::unknown_server);
    EXPECT_TRUE(diag.remote_message().empty());
}

TEST_F(remote_fixture, CoroutinesAwaitTypedCalls)
{
    auto f = asio::co_spawn(
        c.ioc,
        [&]() -> asio::awaitable<int> {
            auto [ec1, a] = co_await rpc->game.gameRemote.add("k", 1, 2, asio::use_awaitable);
            auto [ec2, b] = co_await rpc->game.gameRemote.slow_double("k", a, asio::use_awaitable);
            co_return (ec1 || ec2) ? -1 : b;
        },
        asio::use_future);
    EXPECT_EQ(wait(f), 6);
}

TEST_F(remote_fixture, HandlersOfOneServiceNeverRunConcurrently)
{
    constexpr int n = 2000;
    std::atomic<int> done{0};
    std::promise<void> all;
    for (int i = 0; i < n; ++i)
        rpc->game.gameRemote.add(i, i, 1, [&](std::error_code, int) {
            if (++done == n)
                all.set_value();
        });
    auto f = all.get_future();
    wait(f);
    EXPECT_EQ(impl.overlaps.load(), 0) << "4 I/O threads, one strand per service";
}

TEST_F(remote_fixture, WithAppliesCallOptions)
{
    auto f = rpc->game.gameRemote.with({.timeout = 1ms}).slow_double("k", 1, asio::use_future);
    auto [ec, v] = wait(f);
    // 1 ms for a call whose handler waits 1 ms: a timeout is expected, but a very fast
    // machine may answer in time, and on a busy one the callee may find the 1 ms deadline
    // it was told already passed (deadline_exceeded: the option reached the callee); either
    // way the call completes exactly once.
    EXPECT_TRUE(ec == error::timeout || ec == error::deadline_exceeded || (!ec && v == 2))
        << ec.message();
}

TEST(RemoteContract, ListsItsMethodsWithTheirDeclaredSignatures)
{
    auto methods = game_remote::methods();
    ASSERT_EQ(methods.size(), 8u);
    EXPECT_EQ(methods[0].name, "add");
    EXPECT_EQ(methods[0].signature, "int(int a, int b)");
    EXPECT_EQ(methods[7].name, "ping");
    EXPECT_EQ(game_remote::name, "gameRemote");
}

} // namespace
