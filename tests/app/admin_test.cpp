#include <mailroom/app/admin_endpoint.hpp>
// Test that header file is self-contained.

#include "admin_support.hpp"
#include "remote/contract.hpp"
#include "support/wait.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/metrics/prometheus.hpp>
#include <mailroom/tcp/transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using mailroom::test::http_request;
using mailroom::test::raw_exchange;

template <class T>
T wait(std::future<T>&& f)
{
    return mailroom::test::wait(f);
}

using cluster_rpc = mailroom::test::game_rpc;

using mailroom::test::game_impl;

/// The value of the sample whose name and labels are exactly `series`; -1 if absent.
double sample(const std::string& text, const std::string& series)
{
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ')
            return std::stod(line.substr(series.size() + 1));
    return -1;
}

/// A game server and a connector, both with the admin endpoint on any free port.
struct admin_fixture : ::testing::Test {
    mailroom::test::admin_cluster_config cfg;
    mailroom::test::slow_game game;
    mailroom::app<cluster_rpc> game_app{with_admin(cfg.options("game-1"))};
    mailroom::app<cluster_rpc> connector{with_admin(cfg.options("connector-1"))};

    static mailroom::app_options with_admin(mailroom::app_options o)
    {
        o.admin.port = 0;
        o.admin.timeout = 300ms;
        o.metrics_limits.timed_calls_per_window = UINT32_MAX; // every call timed: exact counts
        o.metrics_limits.slow_call = 20ms;                    // slow_double takes 40 ms
        return o;
    }

    void SetUp() override
    {
        for (auto* a : {&game_app, &connector})
            a->add_transport("tcp", mailroom::tcp::make_transport());
        game_app.serve<mailroom::test::game_remote>(game);
        game_app.start();
        connector.start();
        ASSERT_NE(game_app.admin_port(), 0);
        ASSERT_NE(connector.admin_port(), 0);
    }

    void make_calls(int adds, int booms)
    {
        for (int i = 0; i < adds; ++i) {
            auto [ec, sum] = wait(connector.rpc.game.gameRemote.add("s", i, 1, asio::use_future));
            ASSERT_FALSE(ec) << ec.message();
            ASSERT_EQ(sum, i + 1);
        }
        for (int i = 0; i < booms; ++i) {
            auto [ec, v] = wait(connector.rpc.game.gameRemote.boom("s", "on purpose", asio::use_future));
            ASSERT_EQ(ec, mailroom::error::remote_error);
        }
    }
};

const std::string add_labels =
    R"({ns="user",server_type="game",service="gameRemote",method="add")";
const std::string boom_labels =
    R"({ns="user",server_type="game",service="gameRemote",method="boom")";

TEST(admin_endpoint_app, IsOffByDefault)
{
    mailroom::test::admin_cluster_config cfg;
    mailroom::app<> a(cfg.options("game-1"));
    a.add_transport("tcp", mailroom::tcp::make_transport());
    a.start();
    EXPECT_EQ(a.admin_port(), 0);
    EXPECT_TRUE(a.metrics_snapshot().enabled) << "metrics are on, the endpoint is not";
}

TEST(admin_endpoint_app, TakesItsPortFromServersJson)
{
    mailroom::test::admin_cluster_config cfg(R"(, "admin_port": 0)");
    mailroom::app<> a(cfg.options("game-1"));
    a.add_transport("tcp", mailroom::tcp::make_transport());
    a.start();
    ASSERT_NE(a.admin_port(), 0);
    auto res = http_request(a.admin_port(), "/metrics");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_NE(res.body().find(R"(mailroom_info{server_id="game-1",server_type="game"} 1)"),
              std::string::npos);
}

TEST(admin_endpoint_app, RefusesAMalformedAdminPort)
{
    mailroom::test::admin_cluster_config cfg(R"(, "admin_port": "ninety")");
    mailroom::app<> a(cfg.options("game-1"));
    a.add_transport("tcp", mailroom::tcp::make_transport());
    EXPECT_THROW(a.start(), mailroom::config_error);
    a.stop();
}

TEST_F(admin_fixture, MetricsCountEveryCallOnBothEnds)
{
    make_calls(5, 2);
    const auto client = http_request(connector.admin_port(), "/metrics");
    ASSERT_EQ(client.result_int(), 200);
    EXPECT_EQ(std::string(client[http::field::content_type]),
              std::string(mailroom::metrics::prometheus_content_type));
    const auto& c = client.body();
    EXPECT_EQ(sample(c, "mailroom_client_calls_total" + add_labels + "}"), 5);
    EXPECT_EQ(sample(c, "mailroom_client_calls_total" + boom_labels + "}"), 2);
    EXPECT_EQ(sample(c, "mailroom_client_errors_total" + boom_labels + R"(,code="remote_error"})"), 2);
    EXPECT_EQ(sample(c, "mailroom_client_errors_total" + add_labels + R"(,code="remote_error"})"), -1);
    EXPECT_EQ(sample(c, "mailroom_client_in_flight" + add_labels + "}"), 0);
    EXPECT_EQ(sample(c, "mailroom_client_latency_seconds_count" + add_labels + "}"), 5);
    EXPECT_EQ(sample(c, "mailroom_client_latency_seconds_bucket" + add_labels + R"(,le="+Inf"})"), 5);
    EXPECT_GT(sample(c, "mailroom_client_latency_seconds_sum" + add_labels + "}"), 0);
    EXPECT_EQ(sample(c, R"(mailroom_peer_calls_total{server_id="game-1",server_type="game"})"), 7);
    EXPECT_EQ(sample(c, R"(mailroom_peer_errors_total{server_id="game-1",server_type="game"})"), 2);
    EXPECT_EQ(sample(c, R"(mailroom_mailbox_state{server_id="game-1",server_type="game",state="open"})"), 1);
    EXPECT_EQ(sample(c, R"(mailroom_mailbox_reconnects_total{server_id="game-1",server_type="game"})"), 0);

    const auto server = http_request(game_app.admin_port(), "/metrics");
    ASSERT_EQ(server.result_int(), 200);
    const auto& s = server.body();
    EXPECT_EQ(sample(s, "mailroom_server_calls_total" + add_labels + "}"), 5);
    EXPECT_EQ(sample(s, "mailroom_server_errors_total" + boom_labels + R"(,code="remote_error"})"), 2);
    EXPECT_EQ(sample(s, "mailroom_server_latency_seconds_count" + boom_labels + "}"), 2);
    EXPECT_EQ(sample(s, "mailroom_server_connections"), 1);
    EXPECT_EQ(sample(s, R"(mailroom_server_refusals_total{reason="remote_errors"})"), 2);
}

TEST_F(admin_fixture, SysMetricsSnapshotAgreesWithTheScrape)
{
    make_calls(3, 1);
    auto [ec, snap] = wait(connector.rpc.sys("game-1").metrics.snapshot(asio::use_future));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(snap.enabled);
    EXPECT_EQ(snap.server_id, "game-1");
    EXPECT_EQ(snap.bucket_bounds_us.size(), mailroom::metrics::histogram::bounds);
    const mailroom::metrics::method_snapshot* add = nullptr;
    for (const auto& m : snap.methods)
        if (m.side == "server" && m.service == "gameRemote" && m.method == "add")
            add = &m;
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->calls, 3u);
    EXPECT_EQ(add->errors, 0u);
    EXPECT_GT(add->p50_ms, 0);
    ASSERT_FALSE(snap.recent_errors.empty());
    EXPECT_EQ(snap.recent_errors.back().code, "remote_error");
    EXPECT_EQ(snap.recent_errors.back().method, "boom");
    EXPECT_EQ(snap.recent_errors.back().peer, "connector-1");
}

TEST_F(admin_fixture, StatusJsonAndThePageAreServed)
{
    make_calls(2, 0);
    const auto json = http_request(connector.admin_port(), "/status.json");
    ASSERT_EQ(json.result_int(), 200);
    const auto j = nlohmann::json::parse(json.body());
    EXPECT_EQ(j.at("server_id"), "connector-1");
    bool found = false;
    for (const auto& p : j.at("peers"))
        found |= p.at("server_id") == "game-1" && p.at("calls") == 2;
    EXPECT_TRUE(found) << json.body();

    const auto page = http_request(connector.admin_port(), "/");
    ASSERT_EQ(page.result_int(), 200);
    EXPECT_EQ(std::string(page[http::field::content_type]), "text/html; charset=utf-8");
    const auto& html = page.body();
    EXPECT_NE(html.find("status.json"), std::string::npos);
    // Self-contained: nothing is loaded from anywhere else.
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST_F(admin_fixture, ASlowCallServedIsListedWithItsTraceId)
{
    const auto root = mailroom::trace_context::make_root();
    auto [ec, v] = wait(connector.rpc.game.gameRemote.with({.trace = root})
                            .slow_double("s", 21, asio::use_future));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(v, 42);
    make_calls(5, 1); // fast ones, a failure among them: not slow

    const auto json = http_request(game_app.admin_port(), "/status.json");
    ASSERT_EQ(json.result_int(), 200);
    const auto j = nlohmann::json::parse(json.body());
    EXPECT_EQ(j.at("slow_call_ms"), 20);
    // Only slow_double is slow by design (a loaded machine may make another call slow too).
    nlohmann::json slow = nlohmann::json::array();
    for (const auto& c : j.at("recent_slow_calls"))
        if (c.at("method") == "slow_double")
            slow.push_back(c);
    ASSERT_EQ(slow.size(), 1u) << json.body();
    EXPECT_EQ(slow[0].at("method"), "slow_double");
    EXPECT_EQ(slow[0].at("service"), "gameRemote");
    EXPECT_EQ(slow[0].at("code"), "ok");
    EXPECT_EQ(slow[0].at("peer"), "connector-1");
    EXPECT_GE(slow[0].at("ms").get<double>(), 40.0); // timed: every call is
    // The caller's trace; the call is a span of its own in it.
    EXPECT_EQ(slow[0].at("trace_id"), root.trace_id_hex());
    EXPECT_EQ(slow[0].at("span_id").get<std::string>().size(), 16u);
    EXPECT_NE(slow[0].at("span_id"), root.span_id_hex());

    // The caller made it: it served nothing slow.
    const auto mine = nlohmann::json::parse(http_request(connector.admin_port(), "/status.json").body());
    EXPECT_TRUE(mine.at("recent_slow_calls").empty());
}

TEST_F(admin_fixture, AnswersUnknownPathsAndMethodsWithoutAnswering)
{
    EXPECT_EQ(http_request(connector.admin_port(), "/nope").result_int(), 404);
    EXPECT_EQ(http_request(connector.admin_port(), "/metrics?x=1").result_int(), 200);
    auto post = http_request(connector.admin_port(), "/metrics", http::verb::post);
    EXPECT_EQ(post.result_int(), 405);
    EXPECT_EQ(std::string(post[http::field::allow]), "GET, HEAD");
    EXPECT_EQ(http_request(connector.admin_port(), "/metrics", http::verb::delete_).result_int(), 405);
}

TEST_F(admin_fixture, GarbageIsABadRequest)
{
    const auto out = raw_exchange(connector.admin_port(), "\x16\x03\x01 this is not http\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
    const auto binary = raw_exchange(connector.admin_port(), std::string(2000, '\0'));
    EXPECT_EQ(binary.rfind("HTTP/1.1 400", 0), 0u) << binary;
    EXPECT_EQ(http_request(connector.admin_port(), "/metrics").result_int(), 200)
        << "the endpoint still serves";
}

TEST_F(admin_fixture, AHugeHeaderIsABadRequest)
{
    std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ";
    req += std::string(64 * 1024, 'a');
    req += "\r\n\r\n";
    const auto out = raw_exchange(connector.admin_port(), req);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out.substr(0, 200);
    std::string body_req = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    body_req += std::string(100000, 'b');
    const auto out2 = raw_exchange(connector.admin_port(), body_req);
    EXPECT_EQ(out2.rfind("HTTP/1.1 400", 0), 0u) << out2.substr(0, 200);
    EXPECT_EQ(http_request(connector.admin_port(), "/metrics").result_int(), 200);
}

TEST_F(admin_fixture, ASlowRequestIsCutOffAtTheTimeout)
{
    // A request head that never ends (slowloris): the connection is closed once the 300 ms
    // the fixture allows have passed, with nothing answered.
    const auto start = std::chrono::steady_clock::now();
    const auto out = raw_exchange(connector.admin_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-a: ");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(out, "");
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 15s) << "closed by the endpoint, not by the test's safety net";
    EXPECT_EQ(http_request(connector.admin_port(), "/metrics").result_int(), 200);
}

TEST(admin_endpoint, CapsItsConnections)
{
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    mailroom::admin_endpoint admin(
        ioc.get_executor(), {.port = 0, .max_connections = 2, .timeout = 10s},
        [](std::string_view path) -> std::optional<mailroom::admin_endpoint::page> {
            if (path == "/ping")
                return mailroom::admin_endpoint::page{200, "text/plain", "pong"};
            return std::nullopt;
        });
    ASSERT_FALSE(admin.listen());
    std::thread io([&] { ioc.run(); });

    asio::io_context client;
    auto a = mailroom::test::connect_local(client, admin.port());
    auto b = mailroom::test::connect_local(client, admin.port());
    // Both are accepted (polled with a deadline: accepting is asynchronous).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (admin.connections() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_EQ(admin.connections(), 2u);
    // A third is closed at once, nothing read or answered.
    EXPECT_EQ(raw_exchange(admin.port(), "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    a.close();
    b.close();
    const auto deadline2 = std::chrono::steady_clock::now() + 20s;
    while (admin.connections() > 0 && std::chrono::steady_clock::now() < deadline2)
        std::this_thread::yield();
    auto res = http_request(admin.port(), "/ping");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "pong");
    EXPECT_EQ(http_request(admin.port(), "/pong").result_int(), 404);

    admin.stop();
    work.reset();
    io.join();
}

TEST(admin_endpoint, RefusesAnAddressItCannotBind)
{
    asio::io_context ioc;
    mailroom::admin_endpoint admin(ioc.get_executor(), {.port = 0, .address = "not an address"},
                                   [](std::string_view) { return std::nullopt; });
    EXPECT_TRUE(admin.listen());
    EXPECT_EQ(admin.port(), 0);
}

} // namespace
