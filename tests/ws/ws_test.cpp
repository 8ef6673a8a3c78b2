#include <mailroom/ws.hpp>
// Test that header file is self-contained.

// WebSocket-only behaviour: the upgrade (path, token, refusals), close codes and WebSocket
// keepalive. Everything a transport must do is in the conformance suite (tests/transports/),
// which runs for ws and ws_tls too.

#include "support/wait.hpp"
#include "transports/cluster.hpp"
#include "transports/under_test.hpp"

#include <mailroom/client.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::cluster;
using mailroom::test::wait;
using mailroom::ws::ws_error;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

struct log_capture {
    std::mutex mu;
    std::vector<std::string> lines;

    mailroom::logger logger()
    {
        return {.min_level = mailroom::log_level::warning,
                .sink = [this](mailroom::log_level, std::string_view line) {
                    std::lock_guard lock(mu);
                    lines.emplace_back(line);
                }};
    }
    bool contains(std::string_view text)
    {
        std::lock_guard lock(mu);
        for (const auto& l : lines)
            if (l.find(text) != l.npos)
                return true;
        return false;
    }
};

std::future<std::tuple<std::error_code, int>> add(cluster& c, int a, int b)
{
    return c.rpc->async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                  "key", std::tuple{a, b}, asio::use_future);
}

/// A plain WebSocket client of the cluster's server (ws, not wss), not yet upgraded.
struct raw_client {
    explicit raw_client(cluster& c) : ws(c.ioc)
    {
        ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), c.address().port});
    }
    /// Upgrades with `path` and `token`; the HTTP answer's status.
    int upgrade(const std::string& path, const std::string& token)
    {
        ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
            if (!token.empty())
                req.set(http::field::authorization, "Bearer " + token);
        }));
        // Asynchronously: Boost 1.74's synchronous handshake leaves `res` empty when the
        // upgrade is declined (the asynchronous one fills it, as documented).
        websocket::response_type res;
        auto f = ws.async_handshake(res, "127.0.0.1", path, asio::use_future);
        try {
            wait(f);
        } catch (const boost::system::system_error& e) {
            if (e.code() != websocket::error::upgrade_declined)
                ADD_FAILURE() << e.what();
        }
        return res.result_int();
    }
    /// Reads until the server closes; the close code it sent.
    std::uint16_t close_code()
    {
        beast::flat_buffer buf;
        for (;;) {
            auto f = ws.async_read(buf, asio::use_future);
            try {
                wait(f);
            } catch (const boost::system::system_error&) {
                return ws.reason().code;
            }
            buf.clear();
        }
    }
    void send_hello()
    {
        mailroom::frame hello;
        mailroom::protocol::encode_hello(hello, "raw");
        ws.binary(true);
        ws.write(asio::buffer(hello.body().data(), hello.body().size()));
    }
    websocket::stream<tcp::socket> ws;
};

TEST(Ws, EveryErrorHasAMessageAndACondition)
{
    for (int v = 1; v <= static_cast<int>(ws_error::text_message); ++v) {
        std::error_code ec = static_cast<ws_error>(v);
        EXPECT_STREQ(ec.category().name(), "mailroom.ws");
        EXPECT_FALSE(ec.message().empty());
        EXPECT_EQ(ec, v == static_cast<int>(ws_error::text_message)
                          ? mailroom::condition::failed
                          : mailroom::condition::retryable);
    }
}

TEST(Ws, AnUnauthorisedUpgradeIsRefusedWith401AndNothingIsDispatched)
{
    auto t = mailroom::test::make_ws_under_test(false);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    std::atomic<int> dispatched{0};
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add("echoRemote", "count", [&] { return ++dispatched; });
    };
    c.start_server();

    auto at = c.address();
    at.options["ws_token"] = "guess";
    c.add_echo_server(at);
    auto f = c.rpc->async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "count"},
                                    "k", std::tuple{}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("401 Unauthorized")) << "the station logs why";
    EXPECT_EQ(dispatched.load(), 0);
    EXPECT_EQ(c.srv->connections(), 0u) << "the core never saw the connection";

    raw_client no_token(c);
    EXPECT_EQ(no_token.upgrade("/mailroom", ""), 401);
    raw_client wrong_token(c);
    EXPECT_EQ(wrong_token.upgrade("/mailroom", "conformance-tokeN"), 401);
    raw_client right(c);
    EXPECT_EQ(right.upgrade("/mailroom", "conformance-token"), 101);
}

TEST(Ws, OnlyTheConfiguredPathIsUpgraded)
{
    auto t = mailroom::test::make_ws_under_test(false);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 300ms, .reconnect_delay = 20ms, .log = log.logger()});
    c.start_server();
    raw_client wrong_path(c);
    EXPECT_EQ(wrong_path.upgrade("/elsewhere", "conformance-token"), 404);
    raw_client with_query(c);
    EXPECT_EQ(with_query.upgrade("/mailroom?client=7", "conformance-token"), 101);

    auto at = c.address();
    at.options["ws_path"] = "/";
    c.add_echo_server(at);
    auto f = add(c, 1, 2);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_TRUE(log.contains("404 Not Found"));
}

TEST(Ws, APlainHttpRequestGets400)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    tcp::socket s(c.ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), c.address().port});
    http::request<http::empty_body> req{http::verb::get, "/mailroom", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    auto f = http::async_read(s, buf, res, asio::use_future);
    wait(f);
    EXPECT_EQ(res.result_int(), 400);
}

TEST(Ws, ATextMessageClosesTheConnectionWithCode1003)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
    raw.send_hello();
    raw.ws.text(true);
    raw.ws.write(asio::buffer(std::string("[1, 1, \"user\"]")));
    EXPECT_EQ(raw.close_code(), websocket::close_code::unknown_data);
}

TEST(Ws, AMessageAboveTheLimitClosesTheConnectionWithCode1009)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.server_max_frame_size = 1024;
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
    raw.send_hello();
    std::string big(2048, 'x');
    boost::system::error_code ignored; // the server may hang up while it is being written
    raw.ws.write(asio::buffer(big), ignored);
    EXPECT_EQ(raw.close_code(), websocket::close_code::too_big);
}

TEST(Ws, KeepaliveDetectsAServerThatStoppedAnswering)
{
    // A raw server that completes the upgrade and the handshake, then never reads again:
    // its WebSocket layer answers no pings.
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::promise<void> release;
    std::thread silent([&] {
        websocket::stream<tcp::socket> ws(ioc);
        a.accept(ws.next_layer());
        ws.accept();
        beast::flat_buffer buf;
        ws.read(buf); // the hello
        mailroom::frame ack;
        mailroom::protocol::encode_hello_ack(ack, "echo-1");
        ws.binary(true);
        ws.write(asio::buffer(ack.body().data(), ack.body().size()));
        release.get_future().wait();
    });

    mailroom::mail_station station(ioc.get_executor(), {.log = {.min_level = mailroom::log_level::off}});
    station.add_transport("ws", mailroom::ws::make_mailbox_factory(
                                    {.stream = {.keepalive_interval = 20ms,
                                                .keepalive_timeout = 200ms}}));
    station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                        .port = a.local_endpoint().port(), .transport = "ws"});
    mailroom::router router;
    mailroom::proxy rpc(station, router);
    const auto started = std::chrono::steady_clock::now();
    auto f = rpc.async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                 "k", std::tuple{1, 1}, asio::use_future); // 30 s timeout
    EXPECT_EQ(std::get<0>(wait(f)), error::disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "keepalive, not the call timeout";
    release.set_value();
    silent.join();
    station.close();
    work.reset();
    io.join();
}

TEST(Ws, AnIdleLinkThatAnswersPingsStaysUp)
{
    // Both ends with short keepalive timeouts and no calls: the client's pings (and the
    // pongs) alone keep the link up.
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    mailroom::server srv(ioc.get_executor(), {.server_id = "echo-1",
                                              .log = {.min_level = mailroom::log_level::off}});
    srv.get_dispatcher().add("echoRemote", "add", [](int x, int y) { return x + y; });
    auto acc = mailroom::ws::make_acceptor(
        ioc.get_executor(), {.stream = {.keepalive_interval = 0ms, .keepalive_timeout = 100ms}});
    ASSERT_FALSE(srv.listen(acc));
    std::atomic<int> closes{0};
    mailroom::mail_station station(
        ioc.get_executor(),
        {.log = {.min_level = mailroom::log_level::info,
                 .sink = [&](mailroom::log_level, std::string_view line) {
                     closes += line.find("closed") != line.npos;
                 }}});
    station.add_transport("ws", mailroom::ws::make_mailbox_factory(
                                    {.stream = {.keepalive_interval = 20ms,
                                                .keepalive_timeout = 100ms}}));
    station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                        .port = acc->port(), .transport = "ws"});
    mailroom::router router;
    mailroom::proxy rpc(station, router);
    auto first = rpc.async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                     "k", std::tuple{1, 1}, asio::use_future);
    EXPECT_EQ(wait(first), std::make_tuple(std::error_code{}, 2));
    // A call that the server answers only after several keepalive periods of silence.
    asio::steady_timer quiet(ioc, 500ms);
    auto waited = quiet.async_wait(asio::use_future);
    wait(waited);
    auto second = rpc.async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                      "k", std::tuple{2, 2}, asio::use_future);
    EXPECT_EQ(wait(second), std::make_tuple(std::error_code{}, 4));
    EXPECT_EQ(closes.load(), 0) << "the idle link was never closed";
    EXPECT_EQ(srv.connections(), 1u);
    station.close();
    srv.stop();
    work.reset();
    io.join();
}

} // namespace
