#include <mailroom/app/app.hpp>
// Test that header file is self-contained.

#include "admin_support.hpp"
#include "remote/contract.hpp"
#include "support/tcp_cluster.hpp"

#include <mailroom/tcp/transport.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::wait;

/// `wait` on a future made in place.
template <class T>
T wait(std::future<T>&& f)
{
    return mailroom::test::wait(f);
}
namespace asio = boost::asio;

MAILROOM_REMOTE(hold_remote, holdRemote, (hold, int(int x)));

// Handlers that answer deadline_exceeded themselves, in two forms.
MAILROOM_REMOTE(late_remote, lateRemote,
    (plain, int(int budget_ms))
    (callback, void(int budget_ms)));

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"game", mailroom::test::game_remote, hold_remote, late_remote> game{*this};
};

/// Gives up (before changing anything) when less than `budget_ms` is left.
struct late_impl {
    int plain(const mailroom::call_context& ctx, int budget_ms)
    {
        if (ctx.deadline - std::chrono::steady_clock::now() < std::chrono::milliseconds(budget_ms))
            throw std::system_error(mailroom::error::deadline_exceeded);
        return budget_ms;
    }
    void callback(const mailroom::call_context& ctx, int budget_ms, mailroom::reply_callback<void> done)
    {
        if (ctx.deadline - std::chrono::steady_clock::now() < std::chrono::milliseconds(budget_ms))
            return done.fail(mailroom::error::deadline_exceeded);
        done();
    }
};

using mailroom::test::game_impl;

/// A handler that tells the test it started, then finishes 50 ms later.
struct hold_impl {
    std::promise<void> started;
    asio::awaitable<int> hold(const mailroom::call_context& ctx, int x)
    {
        started.set_value();
        asio::steady_timer t(ctx.executor, 50ms);
        co_await t.async_wait(asio::use_awaitable);
        co_return x;
    }
};

using mailroom::test::free_tcp_port;
/// A servers.json with one "game" server and one "connector", on free ports.
using cluster_config = mailroom::test::admin_cluster_config;

struct app_fixture : ::testing::Test {
    cluster_config cfg;
    game_impl game;
    hold_impl holder;
    late_impl late;
    mailroom::app<cluster_rpc> game_app{cfg.options("game-1")};
    mailroom::app<cluster_rpc> connector{cfg.options("connector-1")};

    void SetUp() override
    {
        for (auto* a : {&game_app, &connector})
            a->add_transport("tcp", mailroom::tcp::make_transport());
        game_app.serve<mailroom::test::game_remote>(game);
        game_app.serve<hold_remote>(holder);
        game_app.serve<late_remote>(late);
        game_app.start();
        connector.start();
    }
};

TEST_F(app_fixture, CallsARemoteWithPomelosCallShape)
{
    auto sum = connector.rpc.game.gameRemote.add("session-1", 20, 22, asio::use_future);
    EXPECT_EQ(wait(sum), std::make_tuple(std::error_code{}, 42));
    auto who = connector.rpc.game.gameRemote.whoami("session-1", asio::use_future);
    EXPECT_EQ(wait(who), std::make_tuple(std::error_code{}, std::string("connector-1")))
        << "the caller's server id travels in the handshake";
    auto direct = connector.rpc.game.gameRemote.to_server("game-1").slow_double(4, asio::use_future);
    EXPECT_EQ(wait(direct), std::make_tuple(std::error_code{}, 8));
}

TEST_F(app_fixture, AnswersSysHealthAndIntrospection)
{
    auto health = connector.dynamic().async_call_to<mailroom::health_status>(
        "game-1", {.ns = "sys", .server_type = "game", .service = "health", .method = "ping"},
        std::tuple{}, asio::use_future);
    auto [ec, h] = wait(health);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(h.server_id, "game-1");
    EXPECT_EQ(h.server_type, "game");

    auto methods = connector.dynamic().async_call_to<std::vector<mailroom::method_description>>(
        "game-1", {.ns = "sys", .server_type = "game", .service = "introspect", .method = "methods"},
        std::tuple{}, asio::use_future);
    auto [ec2, list] = wait(methods);
    ASSERT_FALSE(ec2) << ec2.message();
    auto has = [&](std::string ns, std::string service, std::string method, std::string sig) {
        for (const auto& m : list)
            if (m.ns == ns && m.service == service && m.method == method && m.signature == sig)
                return true;
        return false;
    };
    EXPECT_TRUE(has("user", "gameRemote", "add", "int(int a, int b)"));
    EXPECT_TRUE(has("user", "holdRemote", "hold", "int(int x)"));
    EXPECT_TRUE(has("sys", "health", "ping", "mailroom::health_status()"));
}

TEST_F(app_fixture, SysRemotesHaveTypedStubs)
{
    auto [ec, h] = wait(connector.rpc.sys("game-1").health.ping(asio::use_future));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(h.server_id, "game-1");
    EXPECT_EQ(h.server_type, "game");

    auto [ec2, list] = wait(connector.rpc.sys("game-1").introspect.methods(asio::use_future));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_TRUE(std::any_of(list.begin(), list.end(), [](const mailroom::method_description& m) {
        return m.ns == "user" && m.service == "gameRemote" && m.method == "add" &&
               m.signature == "int(int a, int b)";
    }));

    auto [ec3, none] = wait(connector.rpc.sys("game-9").health.ping(asio::use_future));
    EXPECT_EQ(ec3, error::unknown_server) << ec3.message();
}

// App::sys() once set the stubs' server type to a view into a copy of the cluster table that
// was freed when sys() returned (TSan and ASan: heap-use-after-free encoding the request
// path). Tables of the same size written over that memory must not change the type a call
// carries.
TEST_F(app_fixture, SysStubsKeepTheServerTypeAfterTheTableTheyCameFromIsFreed)
{
    struct record_type : mailroom::client_filter {
        std::mutex mu;
        std::vector<std::string> types;
        void before(mailroom::filter_call& c, mailroom::filter_next next) override
        {
            {
                std::lock_guard lock(mu);
                types.push_back(c.server_type);
            }
            next();
        }
    };
    auto seen = std::make_shared<record_type>();
    connector.client_filters().add(seen);
    const auto members = connector.cluster().size();
    auto stubs = connector.rpc.sys("game-1");
    std::vector<std::vector<mailroom::server_info>> decoys;
    for (int i = 0; i < 8; ++i)
        decoys.emplace_back(members, mailroom::server_info{.id = "decoy-id-beyond-short-strings",
                                                           .server_type = "decoy-type-overwritten"});
    auto [ec, h] = wait(stubs.health.ping(asio::use_future));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(h.server_type, "game");
    std::lock_guard lock(seen->mu);
    ASSERT_EQ(seen->types.size(), 1u);
    EXPECT_EQ(seen->types[0], "game") << "the type the call carried";
}

TEST_F(app_fixture, BadArgumentsNameTheArgumentAndItsType)
{
    auto f = connector.dynamic().async_call_to<mailroom::reply>(
        "game-1", {.server_type = "game", .service = "gameRemote", .method = "add"},
        std::tuple{1, std::string("two")}, asio::use_future);
    auto [ec, r] = wait(f);
    EXPECT_EQ(ec, error::bad_arguments);
    EXPECT_EQ(r.error_message(), "argument 2 of 2: expected int, got a string");

    auto g = connector.dynamic().async_call_to<mailroom::reply>(
        "game-1", {.server_type = "game", .service = "gameRemote", .method = "add"},
        std::tuple{1}, asio::use_future);
    auto [ec2, r2] = wait(g);
    EXPECT_EQ(ec2, error::bad_arguments);
    EXPECT_EQ(r2.error_message(), "expected 2 arguments, got 1");
}

TEST_F(app_fixture, AHandlerCanAnswerDeadlineExceeded)
{
    auto& late_stub = connector.rpc.game.lateRemote;
    auto plain = late_stub.with({.timeout = 5s}).plain("k", 60'000, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(plain)), error::deadline_exceeded);
    auto in_time = late_stub.with({.timeout = 5s}).plain("k", 1, asio::use_future);
    EXPECT_EQ(wait(in_time), std::make_tuple(std::error_code{}, 1));
    auto callback = late_stub.with({.timeout = 5s}).callback("k", 60'000, asio::use_future);
    EXPECT_EQ(wait(callback), error::deadline_exceeded);
    // The caller's time is up: not worth retrying (docs/protocol.md, section 8).
    EXPECT_EQ(std::error_code(error::deadline_exceeded), mailroom::condition::failed);
    EXPECT_NE(std::error_code(error::deadline_exceeded), mailroom::condition::retryable);
}

TEST(App, AnUnknownTransportInAnyEntryIsAStartUpError)
{
    cluster_config cfg;
    std::ofstream(cfg.file) << R"({"development": {
        "game": [{"id": "game-1", "host": "127.0.0.1", "port": 4001, "transport": "tpc"}],
        "connector": [{"id": "connector-1", "host": "127.0.0.1", "port": 4002}]}})";
    mailroom::app<cluster_rpc> connector(cfg.options("connector-1"));
    connector.add_transport("tcp", mailroom::tcp::make_transport());
    try {
        connector.start();
        FAIL() << "started with an unknown transport";
    } catch (const mailroom::config_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find(cfg.file.string()), std::string::npos) << what;
        EXPECT_NE(what.find("server \"game-1\" uses transport \"tpc\""), std::string::npos) << what;
        EXPECT_NE(what.find("registered: tcp"), std::string::npos) << what;
    }
}

TEST_F(app_fixture, AGracefulStopFinishesCallsInFlightAndRefusesNewOnes)
{
    auto in_flight = connector.rpc.game.holdRemote.hold("k", 7, asio::use_future);
    auto started = holder.started.get_future();
    wait(started);
    game_app.stop();
    auto refused = connector.rpc.game.gameRemote.add("k", 1, 1, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(refused)), error::shutting_down);
    EXPECT_EQ(wait(in_flight), std::make_tuple(std::error_code{}, 7)) << "finished within the grace";
    game_app.wait();
}

// The cluster secret from servers.json: both Apps read it and call each other; an App given
// another secret in code (which wins over the file) is refused with auth_failed.
TEST(AppAuth, TheSecretInServersJsonAuthenticatesTheClusterAndCodeOverridesIt)
{
    cluster_config cfg;
    {
        std::ifstream in(cfg.file);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto at = text.find("\"game\"");
        text.insert(at, R"("auth": {"secret": "servers-json-secret-0123"}, "tester": [{"id": "tester-1", "host": "127.0.0.1", "port": )" +
                            std::to_string(free_tcp_port()) + "}], ");
        std::ofstream(cfg.file) << text;
    }
    game_impl game;
    mailroom::app<cluster_rpc> game_app{cfg.options("game-1")};
    mailroom::app<cluster_rpc> connector{cfg.options("connector-1")};
    auto stranger_options = cfg.options("tester-1");
    stranger_options.station.auth.secret = "another-secret-0123456";
    stranger_options.server.auth.secret = "another-secret-0123456";
    mailroom::app<cluster_rpc> stranger{stranger_options};
    for (auto* a : {&game_app, &connector, &stranger})
        a->add_transport("tcp", mailroom::tcp::make_transport());
    game_app.serve<mailroom::test::game_remote>(game);
    game_app.start();
    connector.start();
    stranger.start();
    EXPECT_EQ(game_app.options().server.auth.secret, "servers-json-secret-0123");
    auto sum = connector.rpc.game.gameRemote.add("s", 1, 2, asio::use_future);
    EXPECT_EQ(wait(sum), std::make_tuple(std::error_code{}, 3));
    auto refused = stranger.rpc.game.gameRemote.add("s", 1, 2, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(refused)), mailroom::error::auth_failed);
    game_app.stop();
    connector.stop();
    stranger.stop();
}

} // namespace
