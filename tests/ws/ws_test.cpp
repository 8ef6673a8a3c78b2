#include <mailroom/ws.hpp>
// Test that header file is self-contained.

// WebSocket-only behaviour: the upgrade (path, token, refusals), close codes, WebSocket
// keepalive, and the batch format (several length-prefixed frames per binary message, for a
// peer that negotiates the "mailroom.batch" subprotocol; docs/protocol.md, section 1).
// Everything a transport must do is in the conformance suite (tests/transports/), which runs
// for ws and ws_tls too, with raw links that speak one body per message.

#include "support/log_capture.hpp"
#include "support/wait.hpp"
#include "transports/cluster.hpp"
#include "transports/under_test.hpp"

#include <mailroom/client.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::cluster;
using mailroom::test::log_capture;
using mailroom::test::wait;
using mailroom::ws::ws_error;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

std::future<std::tuple<std::error_code, int>> add(cluster& c, int a, int b)
{
    return c.rpc->async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                  "key", std::tuple{a, b}, asio::use_future);
}

constexpr std::string_view batch_protocol = "mailroom.batch";

/// An io_context and `n` threads that run it until `join` (or the destructor).
struct io_threads {
    explicit io_threads(int n = 1)
    {
        for (int i = 0; i < n; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }
    ~io_threads() { join(); }
    /// Lets the threads return once the io_context is out of work, and waits for them.
    void join()
    {
        work.reset();
        for (auto& t : threads)
            if (t.joinable())
                t.join();
    }

    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::vector<std::thread> threads;
};

/// The options of the server "echo-1", which logs nothing.
mailroom::server_options quiet_server()
{
    return {.server_id = "echo-1", .log = {.min_level = mailroom::log_level::off}};
}

/// A client of the WebSocket server "echo-1" at 127.0.0.1:`port`: a station (which logs to
/// `log`), its router and a proxy.
struct ws_client {
    ws_client(asio::any_io_executor ex, std::uint16_t port,
              mailroom::ws::client_options options = {},
              mailroom::logger log = {.min_level = mailroom::log_level::off})
        : station(std::move(ex), {.log = std::move(log)})
    {
        station.add_transport("ws", mailroom::ws::make_mailbox_factory(std::move(options)));
        station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                            .port = port, .transport = "ws"});
    }
    /// Calls echoRemote.add(a, b).
    std::future<std::tuple<std::error_code, int>> add(int a, int b)
    {
        return rpc.async_call<int>(
            {.server_type = "echo", .service = "echoRemote", .method = "add"}, "k",
            std::tuple{a, b}, asio::use_future);
    }

    mailroom::mail_station station;
    mailroom::router router;
    mailroom::proxy rpc{station, router};
};

/// A plain WebSocket client of a server (ws, not wss), not yet upgraded.
struct raw_client {
    explicit raw_client(cluster& c) : raw_client(c.ioc, c.address().port) {}
    raw_client(asio::io_context& ioc, std::uint16_t port) : ws(ioc)
    {
        ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    }
    /** Runs the operation `start(handler)` begins on `ws` and returns its error. The handler
        runs on the io_context, not on Asio's system threads as use_future's does: Beast's
        operation may release the stream's last state after completing, and must do it
        while the io_context (whose timer service that state uses) still runs.
    */
    template <class Start>
    static boost::system::error_code run_io(Start start)
    {
        auto p = std::make_shared<std::promise<boost::system::error_code>>();
        auto f = p->get_future();
        start([p](boost::system::error_code ec, auto&&...) { p->set_value(ec); });
        return wait(f);
    }
    /// Upgrades with `path` and `token`, offering batches if `batch`; the HTTP answer's
    /// status (`res` holds the whole answer).
    int upgrade(const std::string& path, const std::string& token, bool batch = false)
    {
        ws.set_option(websocket::stream_base::decorator([token, batch](websocket::request_type& req) {
            if (!token.empty())
                req.set(http::field::authorization, "Bearer " + token);
            if (batch)
                req.set(http::field::sec_websocket_protocol, "x-other, mailroom.batch");
        }));
        // Asynchronously: Boost 1.74's synchronous handshake leaves `res` empty when the
        // upgrade is declined (the asynchronous one fills it, as documented).
        const auto ec = run_io([&](auto h) { ws.async_handshake(res, "127.0.0.1", path, h); });
        if (ec && ec != websocket::error::upgrade_declined)
            ADD_FAILURE() << ec.message();
        return res.result_int();
    }
    /// Reads until the server closes; the close code it sent.
    std::uint16_t close_code()
    {
        beast::flat_buffer buf;
        for (;;) {
            if (run_io([&](auto h) { ws.async_read(buf, h); }))
                return ws.reason().code;
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
    /// Sends `bytes` as one binary message, ignoring errors (the server may hang up).
    void send_message(const std::string& bytes)
    {
        ws.binary(true);
        boost::system::error_code ignored;
        ws.write(asio::buffer(bytes), ignored);
    }
    /// The next message; empty once the server closed.
    std::optional<std::string> receive()
    {
        beast::flat_buffer buf;
        if (run_io([&](auto h) { ws.async_read(buf, h); }))
            return std::nullopt;
        return beast::buffers_to_string(buf.cdata());
    }
    websocket::response_type res;
    websocket::stream<tcp::socket> ws;
};

/// The frame in batch form: its 4-byte big-endian length, then its body.
std::string prefixed(mailroom::frame& f)
{
    auto w = f.wire();
    return {w.data(), w.size()};
}

std::string hello_frame()
{
    mailroom::frame f;
    mailroom::protocol::encode_hello(f, "raw");
    return prefixed(f);
}

template <class Args>
std::string request_frame(std::uint64_t id, std::string_view method, const Args& args)
{
    mailroom::frame f;
    mailroom::protocol::encode_request(f, id, {.server_type = "echo", .service = "echoRemote", .method = method},
                                       args);
    return prefixed(f);
}

/// Splits a batch message into frame bodies; fails the test if a frame is cut.
std::vector<std::string> split_batch(const std::string& m)
{
    std::vector<std::string> out;
    std::size_t off = 0;
    while (off < m.size()) {
        if (m.size() - off < 4) {
            ADD_FAILURE() << "a batch ends inside a length prefix";
            break;
        }
        auto b = reinterpret_cast<const unsigned char*>(m.data() + off);
        const std::size_t n = (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) |
                              (std::size_t(b[2]) << 8) | b[3];
        if (m.size() - off - 4 < n) {
            ADD_FAILURE() << "a batch ends inside a frame";
            break;
        }
        out.emplace_back(m.data() + off + 4, n);
        off += 4 + n;
    }
    return out;
}

/// A response's id and (int or string) result, or the kind of anything else.
struct decoded {
    mailroom::protocol::message_kind kind;
    std::uint64_t id = 0;
    int code = 0;
    msgpack::object result;
};

decoded decode(const std::string& body, msgpack::zone& zone)
{
    mailroom::protocol::message m;
    EXPECT_FALSE(mailroom::protocol::decode({body.data(), body.size()}, zone, m));
    return {m.kind, m.response.id, m.response.code, m.response.result.msgpack()};
}

/// A masked client frame built by hand (a WebSocket client must mask what it sends).
std::string client_frame(bool fin, std::uint8_t opcode, std::string_view payload)
{
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    const std::size_t n = payload.size();
    if (n < 126) {
        out += static_cast<char>(0x80 | n);
    } else {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n);
    }
    const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
    out.append(key, 4);
    for (std::size_t i = 0; i < n; ++i)
        out += static_cast<char>(payload[i] ^ key[i % 4]);
    return out;
}

/// What a server connection reports upward, for tests below the core.
struct connection_recorder final : mailroom::connection_handler {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> messages;
    std::optional<std::error_code> close_reason;

    void on_message(std::span<const char> body) override
    {
        std::lock_guard lock(mu);
        messages.emplace_back(body.data(), body.size());
    }
    void on_close(std::error_code ec) override
    {
        std::lock_guard lock(mu);
        close_reason = ec;
        cv.notify_all();
    }
    std::error_code wait_close()
    {
        std::unique_lock lock(mu);
        if (!cv.wait_for(lock, 60s, [&] { return close_reason.has_value(); }))
            throw std::runtime_error("the connection never closed");
        return *close_reason;
    }
};

/// A bare WebSocket acceptor whose connections report to one recorder (no server core).
struct bare_acceptor {
    explicit bare_acceptor(std::size_t max_frame_size)
    {
        acc = mailroom::ws::make_acceptor(io.ioc.get_executor(),
                                          {.max_frame_size = max_frame_size});
        auto ec = acc->start([this](std::shared_ptr<mailroom::connection> c) {
            std::lock_guard lock(mu);
            connections.push_back(std::move(c));
            return recorder;
        });
        if (ec)
            throw std::system_error(ec, "start");
    }
    ~bare_acceptor()
    {
        acc->close();
        {
            std::lock_guard lock(mu);
            for (auto& c : connections)
                c->close();
        }
        io.join();
    }
    io_threads io;
    std::shared_ptr<mailroom::ws::acceptor> acc;
    std::shared_ptr<connection_recorder> recorder = std::make_shared<connection_recorder>();
    std::mutex mu;
    std::vector<std::shared_ptr<mailroom::connection>> connections;
};

TEST(Ws, EveryErrorHasAMessageAndACondition)
{
    for (int v = 1; v <= static_cast<int>(ws_error::forbidden); ++v) {
        std::error_code ec = static_cast<ws_error>(v);
        EXPECT_STREQ(ec.category().name(), "mailroom.ws");
        EXPECT_FALSE(ec.message().empty());
        const bool message_error = v >= static_cast<int>(ws_error::text_message) &&
                                   v <= static_cast<int>(ws_error::unfinished_message);
        EXPECT_EQ(ec, message_error ? mailroom::condition::failed : mailroom::condition::retryable);
        // The refusals a retry meets again (401, 403, 404) are permanent; other statuses
        // (upgrade_refused: a 503 heals) are not.
        const bool permanent = v == static_cast<int>(ws_error::unauthorized) ||
                               v == static_cast<int>(ws_error::not_found) ||
                               v == static_cast<int>(ws_error::forbidden);
        EXPECT_EQ(ec == mailroom::condition::permanent, permanent) << v;
    }
    EXPECT_EQ(static_cast<int>(ws_error::forbidden), 7) << "values travel: append only";
}

/// Answers every HTTP request with `answer` (never an upgrade), on 127.0.0.1 and a port of
/// its own: a proxy or server that refuses the client.
struct refusing_http_server {
    explicit refusing_http_server(std::string a) : answer(std::move(a))
    {
        accept();
        thread = std::thread([this] { ioc.run(); });
    }
    ~refusing_http_server()
    {
        ioc.stop();
        thread.join();
    }
    std::uint16_t port() const { return acc.local_endpoint().port(); }

    void accept()
    {
        acc.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec)
                return;
            auto sock = std::make_shared<tcp::socket>(std::move(s));
            auto buf = std::make_shared<std::string>();
            asio::async_read_until(*sock, asio::dynamic_buffer(*buf), "\r\n\r\n",
                                   [this, sock, buf](boost::system::error_code ec, std::size_t) {
                                       if (ec)
                                           return;
                                       ++requests;
                                       asio::async_write(*sock, asio::buffer(answer),
                                                         [sock](boost::system::error_code, std::size_t) {
                                                             boost::system::error_code ignored;
                                                             sock->shutdown(tcp::socket::shutdown_both, ignored);
                                                         });
                                   });
            accept();
        });
    }

    asio::io_context ioc;
    tcp::acceptor acc{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::string answer;
    std::atomic<int> requests{0};
    std::thread thread;
};

TEST(Ws, AForbiddenUpgradeFailsQueuedCallsAtOnceInsteadOfRetryingUntilTheConnectTimeout)
{
    refusing_http_server http("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 10\r\nConnection: close\r\n\r\nforbidden\n");
    auto t = mailroom::test::make_ws_under_test(false);
    log_capture log;
    cluster c(*t, 2, {.connect_timeout = 10s, .reconnect_delay = 20ms, .log = log.logger()});
    c.start_server();
    auto at = c.address();
    at.port = http.port();
    c.add_echo_server(at);
    const auto start = std::chrono::steady_clock::now();
    auto f = add(c, 1, 2);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s)
        << "failed at once, not after the 10 s connect_timeout";
    EXPECT_EQ(http.requests.load(), 1) << "no retry";
    EXPECT_TRUE(log.contains("403 Forbidden")) << "the station logs why";
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

TEST(Ws, AMissingMalformedOrRepeatedSecWebSocketKeyGets400)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    // An upgrade request written by hand, with `keys` as its Sec-WebSocket-Key fields.
    auto status = [&](std::vector<std::string> keys) {
        tcp::socket s(c.ioc);
        s.connect({asio::ip::make_address("127.0.0.1"), c.address().port});
        http::request<http::empty_body> req{http::verb::get, "/mailroom", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::upgrade, "websocket");
        req.set(http::field::connection, "Upgrade");
        req.set(http::field::sec_websocket_version, "13");
        req.set(http::field::authorization, "Bearer conformance-token");
        for (auto& k : keys)
            req.insert(http::field::sec_websocket_key, k);
        http::write(s, req);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        auto f = http::async_read(s, buf, res, asio::use_future);
        wait(f);
        return res.result_int();
    };
    EXPECT_EQ(status({}), 400);
    EXPECT_EQ(status({"x"}), 400);
    EXPECT_EQ(status({"!!!!!!!!!!!!!!!!!!!!!!=="}), 400) << "24 characters, not base64";
    EXPECT_EQ(status({"dGhlIHNhbXBsZSBub25jZQ="}), 400) << "23 characters";
    EXPECT_EQ(status({"dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=="}), 400) << "twice";
    EXPECT_EQ(status({"dGhlIHNhbXBsZSBub25jZQ=="}), 101) << "RFC 6455's example key";
}

TEST(Ws, AnUpgradeThatNeverCompletesIsClosedAfterTheHandshakeTimeout)
{
    io_threads io;
    mailroom::server srv(io.ioc.get_executor(), quiet_server());
    auto acc = mailroom::ws::make_acceptor(
        io.ioc.get_executor(), {.stream = {.keepalive_interval = 0ms,
                                        .keepalive_timeout = 60'000ms,
                                        .handshake_timeout = 200ms}});
    ASSERT_FALSE(srv.listen(acc));
    // Silent, and half a request.
    for (std::string sent : {std::string(), std::string("GET / HTTP/1.1\r\nHost: x\r\n")}) {
        tcp::socket s(io.ioc);
        s.connect({asio::ip::make_address("127.0.0.1"), acc->port()});
        asio::write(s, asio::buffer(sent));
        const auto started = std::chrono::steady_clock::now();
        char buf[64];
        auto f = s.async_read_some(asio::buffer(buf), asio::use_future);
        EXPECT_THROW(wait(f), boost::system::system_error) << "the server hangs up: " << sent;
        const auto took = std::chrono::steady_clock::now() - started;
        EXPECT_GE(took, 150ms);
        EXPECT_LT(took, 10s);
    }
    EXPECT_EQ(srv.connections(), 0u);
    srv.stop();
    io.join();
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
    EXPECT_EQ(std::string(raw.ws.reason().reason.data(), raw.ws.reason().reason.size()),
              std::error_code(ws_error::text_message).message())
        << "the close frame says why";
}

/// The reason of the close frame the server sent.
std::string close_reason_of(raw_client& raw)
{
    const auto& r = raw.ws.reason().reason;
    return std::string(r.data(), r.size());
}

TEST(Ws, AMalformedFrameOrARequestBeforeTheHelloClosesWith1002AndSaysWhy)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    {
        raw_client raw(c);
        ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
        raw.send_hello();
        raw.send_message(std::string("\xc1 not msgpack"));
        EXPECT_EQ(raw.close_code(), websocket::close_code::protocol_error) << "not 1000";
        EXPECT_EQ(close_reason_of(raw), std::error_code(mailroom::error::protocol_error).message());
    }
    {
        raw_client raw(c);
        ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
        mailroom::frame call;
        mailroom::protocol::encode_request(
            call, 1, {.server_type = "echo", .service = "echoRemote", .method = "add"},
            std::tuple{1, 2});
        raw.send_message(std::string(call.body().data(), call.body().size()));
        EXPECT_EQ(raw.close_code(), websocket::close_code::protocol_error);
    }
}

TEST(Ws, AHelloOfAnotherVersionClosesWith1008AfterTheRefusal)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
    mailroom::frame hello;
    mailroom::protocol::packer pk(hello);
    pk.pack_array(3);
    pk.pack_uint8(static_cast<std::uint8_t>(mailroom::protocol::message_kind::hello));
    pk.pack_uint32(mailroom::protocol::version + 1);
    pk.pack(std::string_view("raw"));
    raw.send_message(std::string(hello.body().data(), hello.body().size()));
    // The hello_ack with version_mismatch arrives first, then the close.
    const auto bytes = raw.receive();
    ASSERT_TRUE(bytes);
    msgpack::zone zone;
    mailroom::protocol::message ack;
    ASSERT_FALSE(mailroom::protocol::decode(*bytes, zone, ack));
    EXPECT_EQ(ack.kind, mailroom::protocol::message_kind::hello_ack);
    EXPECT_EQ(ack.hello.code, static_cast<int>(mailroom::error::version_mismatch));
    EXPECT_EQ(raw.close_code(), websocket::close_code::policy_error);
    EXPECT_EQ(close_reason_of(raw), std::error_code(mailroom::error::version_mismatch).message());
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

TEST(Ws, ACloseFrameWithAReasonThatIsNotUtf8IsAProtocolError)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token"), 101);
    raw.send_hello();
    asio::write(raw.ws.next_layer(), asio::buffer(client_frame(true, 0x8, "\x03\xe8\xff\xfe")));
    // The answer, read raw: Beast's stream has not seen our close frame.
    std::string bytes;
    for (;;) {
        char buf[256];
        boost::system::error_code ec;
        const auto n = raw.ws.next_layer().read_some(asio::buffer(buf), ec);
        bytes.append(buf, n);
        if (ec)
            break;
    }
    // The hello_ack (binary), then a close frame: 0x88, its length, the code.
    const auto at = bytes.find("\x88");
    ASSERT_NE(at, std::string::npos);
    ASSERT_GE(bytes.size(), at + 4);
    const int code = (static_cast<unsigned char>(bytes[at + 2]) << 8) |
                     static_cast<unsigned char>(bytes[at + 3]);
    EXPECT_EQ(code, websocket::close_code::protocol_error) << "not a normal closure";
}

TEST(Ws, KeepaliveDetectsAServerThatStoppedAnswering)
{
    // A raw server that completes the upgrade and the handshake, then never reads again:
    // its WebSocket layer answers no pings.
    io_threads io;
    tcp::acceptor a(io.ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::promise<void> release;
    std::thread silent([&] {
        websocket::stream<tcp::socket> ws(io.ioc);
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

    ws_client client(io.ioc.get_executor(), a.local_endpoint().port(),
                     {.stream = {.keepalive_interval = 20ms, .keepalive_timeout = 200ms}});
    const auto started = std::chrono::steady_clock::now();
    auto f = client.add(1, 1); // 30 s timeout
    EXPECT_EQ(std::get<0>(wait(f)), error::disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "keepalive, not the call timeout";
    release.set_value();
    silent.join();
    client.station.close();
    io.join();
}

TEST(Ws, AnIdleLinkThatAnswersPingsStaysUp)
{
    // Both ends with short keepalive timeouts and no calls: the client's pings (and the
    // pongs) alone keep the link up.
    io_threads io;
    mailroom::server srv(io.ioc.get_executor(), quiet_server());
    srv.get_dispatcher().add("echoRemote", "add", [](int x, int y) { return x + y; });
    auto acc = mailroom::ws::make_acceptor(
        io.ioc.get_executor(), {.stream = {.keepalive_interval = 0ms, .keepalive_timeout = 100ms}});
    ASSERT_FALSE(srv.listen(acc));
    std::atomic<int> closes{0};
    ws_client client(io.ioc.get_executor(), acc->port(),
                     {.stream = {.keepalive_interval = 20ms, .keepalive_timeout = 100ms}},
                     {.min_level = mailroom::log_level::info,
                      .sink = [&](mailroom::log_level, std::string_view line) {
                          closes += line.find("closed") != line.npos;
                      }});
    auto first = client.add(1, 1);
    EXPECT_EQ(wait(first), std::make_tuple(std::error_code{}, 2));
    // A call that the server answers only after several keepalive periods of silence.
    asio::steady_timer quiet(io.ioc, 500ms);
    auto waited = quiet.async_wait(asio::use_future);
    wait(waited);
    auto second = client.add(2, 2);
    EXPECT_EQ(wait(second), std::make_tuple(std::error_code{}, 4));
    EXPECT_EQ(closes.load(), 0) << "the idle link was never closed";
    EXPECT_EQ(srv.connections(), 1u);
    client.station.close();
    srv.stop();
    io.join();
}

// --- The batch format -------------------------------------------------------------------

TEST(WsBatch, FramesInOneMessageAreDeliveredInOrderAndTheAnswersComeBatched)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    std::mutex mu;
    std::vector<int> order;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add("echoRemote", "record", [&](int n) {
            std::lock_guard lock(mu);
            order.push_back(n);
            return n * 10;
        });
    };
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token", true), 101);
    EXPECT_EQ(std::string(raw.res[http::field::sec_websocket_protocol]), batch_protocol)
        << "the server agrees to batches";

    constexpr int calls = 50;
    std::string message = hello_frame();
    for (int i = 1; i <= calls; ++i)
        message += request_frame(i, "record", std::tuple{i});
    raw.send_message(message);

    int messages = 0, frames = 0;
    std::vector<std::uint64_t> answered;
    bool acked = false;
    while (answered.size() < calls) {
        auto m = raw.receive();
        ASSERT_TRUE(m) << "the server closed the link";
        ++messages;
        for (const auto& body : split_batch(*m)) {
            ++frames;
            msgpack::zone zone;
            auto d = decode(body, zone);
            if (d.kind == mailroom::protocol::message_kind::hello_ack) {
                EXPECT_FALSE(acked);
                acked = true;
                continue;
            }
            ASSERT_EQ(d.kind, mailroom::protocol::message_kind::response);
            EXPECT_TRUE(acked) << "the hello_ack comes first";
            EXPECT_EQ(d.code, 0);
            EXPECT_EQ(d.result.as<int>(), static_cast<int>(d.id) * 10);
            answered.push_back(d.id);
        }
    }
    std::lock_guard lock(mu);
    std::vector<int> expected;
    for (int i = 1; i <= calls; ++i)
        expected.push_back(i);
    EXPECT_EQ(order, expected) << "the frames of one message run in their order";
    std::sort(answered.begin(), answered.end());
    EXPECT_EQ(answered.size(), std::size_t(calls));
    EXPECT_EQ(answered.back(), std::uint64_t(calls));
    EXPECT_LT(messages, frames) << "answers to one message leave together";
}

TEST(WsBatch, AClientThatDoesNotOfferBatchesGetsOneBodyPerMessage)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token", false), 101);
    EXPECT_TRUE(raw.res[http::field::sec_websocket_protocol].empty());
    raw.send_hello();
    mailroom::frame req;
    mailroom::protocol::encode_request(req, 7, {.server_type = "echo", .service = "echoRemote", .method = "add"},
                                       std::tuple{2, 3});
    raw.ws.write(asio::buffer(req.body().data(), req.body().size()));
    for (auto kind : {mailroom::protocol::message_kind::hello_ack, mailroom::protocol::message_kind::response}) {
        auto m = raw.receive();
        ASSERT_TRUE(m);
        msgpack::zone zone;
        auto d = decode(*m, zone); // a bare body, no length prefix
        EXPECT_EQ(d.kind, kind);
        if (kind == mailroom::protocol::message_kind::response) {
            EXPECT_EQ(d.id, 7u);
            EXPECT_EQ(d.result.as<int>(), 5);
        }
    }
}

TEST(WsBatch, AMessageEndingInsideAFrameClosesTheLinkWithTruncatedFrameAndDeliversNothing)
{
    // Cut inside a body, and inside a length prefix.
    for (std::size_t keep : {std::size_t(5), std::size_t(2)}) {
        bare_acceptor srv(1024);
        raw_client raw(srv.io.ioc, srv.acc->port());
        ASSERT_EQ(raw.upgrade("/", "", true), 101);
        auto cut = request_frame(1, "add", std::tuple{1, 2});
        raw.send_message(hello_frame() + cut.substr(0, keep));
        EXPECT_EQ(raw.close_code(), websocket::close_code::protocol_error) << keep;
        EXPECT_EQ(srv.recorder->wait_close(), ws_error::truncated_frame) << keep;
        std::lock_guard lock(srv.recorder->mu);
        EXPECT_TRUE(srv.recorder->messages.empty()) << "a bad message is refused whole";
    }
}

TEST(WsBatch, AFrameAboveTheLimitInsideAMessageClosesWith1009)
{
    bare_acceptor srv(1024);
    raw_client raw(srv.io.ioc, srv.acc->port());
    ASSERT_EQ(raw.upgrade("/", "", true), 101);
    raw.send_message(hello_frame() + request_frame(1, "echo", std::tuple{std::string(2000, 'x')}));
    EXPECT_EQ(raw.close_code(), websocket::close_code::too_big);
    EXPECT_EQ(srv.recorder->wait_close(), error::frame_too_large);
}

TEST(WsBatch, AMessageAboveTheBatchLimitIsRefusedFromItsHeader)
{
    // max_frame_size 1024: a batch may still hold 64 KiB, not more.
    bare_acceptor srv(1024);
    raw_client raw(srv.io.ioc, srv.acc->port());
    ASSERT_EQ(raw.upgrade("/", "", true), 101);
    std::string header{'\x82', '\xff'}; // masked binary frame, 64-bit length
    for (int shift = 56; shift >= 0; shift -= 8)
        header += static_cast<char>(std::uint64_t(65537) >> shift);
    header += "\x01\x02\x03\x04xyz";
    asio::write(raw.ws.next_layer(), asio::buffer(header));
    EXPECT_EQ(raw.close_code(), websocket::close_code::too_big);
    EXPECT_EQ(srv.recorder->wait_close(), error::frame_too_large);

    // 64 KiB exactly is a batch the link takes.
    bare_acceptor ok(1024);
    raw_client fits(ok.io.ioc, ok.acc->port());
    ASSERT_EQ(fits.upgrade("/", "", true), 101);
    std::string message;
    std::size_t frames = 1; // and the filler
    const auto one = request_frame(1, "echo", std::tuple{std::string(980, 'y')});
    for (; message.size() + one.size() + 4 <= (64u << 10); ++frames)
        message += one;
    const auto filler = (64u << 10) - message.size() - 4;
    message += std::string{0, 0, static_cast<char>(filler >> 8), static_cast<char>(filler)};
    message += std::string(filler, 'z');
    ASSERT_EQ(message.size(), 64u << 10);
    fits.send_message(message);
    fits.ws.close(websocket::close_code::normal);
    EXPECT_EQ(ok.recorder->wait_close(),
              static_cast<std::error_code>(make_error_code(websocket::error::closed)));
    std::lock_guard lock(ok.recorder->mu);
    EXPECT_EQ(ok.recorder->messages.size(), frames);
}

TEST(WsBatch, FragmentsWithAPingBetweenThemMakeOneMessage)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token", true), 101);
    std::atomic<int> pongs{0};
    raw.ws.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
        pongs += kind == websocket::frame_type::pong && payload == "are you there";
    });
    const auto message = hello_frame() + request_frame(3, "add", std::tuple{20, 22});
    const auto half = message.size() / 2;
    std::string bytes = client_frame(false, 0x2, std::string_view(message).substr(0, 3));
    bytes += client_frame(false, 0x0, std::string_view(message).substr(3, half - 3));
    bytes += client_frame(true, 0x9, "are you there");
    bytes += client_frame(true, 0x0, std::string_view(message).substr(half));
    asio::write(raw.ws.next_layer(), asio::buffer(bytes));

    std::vector<std::string> bodies;
    while (bodies.size() < 2) {
        auto m = raw.receive();
        ASSERT_TRUE(m);
        for (auto& b : split_batch(*m))
            bodies.push_back(std::move(b));
    }
    msgpack::zone zone;
    EXPECT_EQ(decode(bodies[0], zone).kind, mailroom::protocol::message_kind::hello_ack);
    auto d = decode(bodies[1], zone);
    EXPECT_EQ(d.id, 3u);
    EXPECT_EQ(d.result.as<int>(), 42);
    EXPECT_EQ(pongs.load(), 1) << "the ping between the fragments was answered";
}

TEST(WsBatch, ABurstLeavesInMessagesOfAtMost64KiB)
{
    auto t = mailroom::test::make_ws_under_test(false);
    cluster c(*t);
    c.start_server();
    raw_client raw(c);
    ASSERT_EQ(raw.upgrade("/mailroom", "conformance-token", true), 101);
    constexpr int calls = 100;
    std::string message = hello_frame();
    for (int i = 1; i <= calls; ++i)
        message += request_frame(i, "echo", std::tuple{std::string(2000, static_cast<char>('a' + i % 26))});
    raw.send_message(message); // about 200 KiB: a batch may be as large as one frame may be

    int answered = 0, messages = 0;
    std::size_t largest = 0;
    while (answered < calls) {
        auto m = raw.receive();
        ASSERT_TRUE(m);
        ++messages;
        largest = std::max(largest, m->size());
        for (const auto& body : split_batch(*m)) {
            msgpack::zone zone;
            auto d = decode(body, zone);
            if (d.kind != mailroom::protocol::message_kind::response)
                continue;
            ++answered;
            EXPECT_EQ(d.result.as<std::string>(), std::string(2000, static_cast<char>('a' + d.id % 26)));
        }
    }
    EXPECT_LE(largest, 64u << 10);
    EXPECT_GE(messages, 4) << "200 KiB of answers take at least four messages";
}

TEST(WsBatch, AMailBoxSpeaksOneBodyPerMessageToAServerThatDoesNotAgreeToBatches)
{
    io_threads io;
    tcp::acceptor a(io.ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::string offered;
    std::thread old_server([&] {
        websocket::stream<tcp::socket> ws(io.ioc);
        a.accept(ws.next_layer());
        http::request<http::empty_body> req;
        beast::flat_buffer buf;
        http::read(ws.next_layer(), buf, req);
        offered = std::string(req[http::field::sec_websocket_protocol]);
        ws.accept(req); // answers without a subprotocol
        ws.read(buf);
        msgpack::zone zone;
        auto body = beast::buffers_to_string(buf.cdata());
        EXPECT_EQ(decode(body, zone).kind, mailroom::protocol::message_kind::hello);
        buf.clear();
        mailroom::frame ack;
        mailroom::protocol::encode_hello_ack(ack, "echo-1");
        ws.binary(true);
        ws.write(asio::buffer(ack.body().data(), ack.body().size()));
        ws.read(buf);
        body = beast::buffers_to_string(buf.cdata());
        mailroom::protocol::message m;
        ASSERT_FALSE(mailroom::protocol::decode({body.data(), body.size()}, zone, m));
        ASSERT_EQ(m.kind, mailroom::protocol::message_kind::request);
        mailroom::frame res;
        mailroom::protocol::encode_response(res, m.request.id, 99);
        ws.write(asio::buffer(res.body().data(), res.body().size()));
        boost::system::error_code ignored;
        ws.read(buf, ignored); // until the station closes
    });

    ws_client client(io.ioc.get_executor(), a.local_endpoint().port());
    auto f = client.add(1, 1);
    EXPECT_EQ(wait(f), std::make_tuple(std::error_code{}, 99));
    EXPECT_EQ(offered, batch_protocol);
    client.station.close();
    old_server.join();
    io.join();
}

TEST(WsBatch, AMailBoxClosesItsLinkOnATruncatedBatch)
{
    io_threads io;
    tcp::acceptor a(io.ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread bad_server([&] {
        websocket::stream<tcp::socket> ws(io.ioc);
        a.accept(ws.next_layer());
        ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::sec_websocket_protocol, "mailroom.batch");
        }));
        ws.accept();
        beast::flat_buffer buf;
        ws.read(buf);
        auto frames = split_batch(beast::buffers_to_string(buf.cdata()));
        ASSERT_EQ(frames.size(), 1u) << "the hello, length-prefixed";
        buf.clear();
        mailroom::frame ack;
        mailroom::protocol::encode_hello_ack(ack, "echo-1");
        ws.binary(true);
        ws.write(asio::buffer(prefixed(ack)));
        ws.read(buf); // the request
        ws.write(asio::buffer(std::string("\0\0\0\x10" "short", 9))); // announces 16 bytes
        boost::system::error_code ec;
        ws.read(buf, ec); // the mail box's close frame
        EXPECT_EQ(ws.reason().code, websocket::close_code::protocol_error);
    });

    log_capture log;
    ws_client client(io.ioc.get_executor(), a.local_endpoint().port(), {},
                     log.logger(mailroom::log_level::info));
    auto f = client.add(1, 1);
    EXPECT_EQ(std::get<0>(wait(f)), error::disconnected);
    bad_server.join();
    EXPECT_TRUE(log.contains(std::error_code(ws_error::truncated_frame).message()))
        << "the station logs why the link closed";
    client.station.close();
    io.join();
}

TEST(WsBatch, AClientThatStopsReadingIsCutOffAndCounted)
{
    io_threads io;
    mailroom::server srv(io.ioc.get_executor(), quiet_server());
    srv.get_dispatcher().add("echoRemote", "grow",
                             [](int n) { return std::string(static_cast<std::size_t>(n), 'z'); });
    auto acc = mailroom::ws::make_acceptor(
        io.ioc.get_executor(), {.stream = {.keepalive_interval = 0ms,
                                        .keepalive_timeout = 60'000ms,
                                        .max_write_queue_bytes = 4u << 20}});
    ASSERT_FALSE(srv.listen(acc));
    // 64 answers of 1 MiB asked in one batch and never read: the kernel's buffers fill, then
    // the 4 MiB write queue, and the link goes.
    raw_client raw(io.ioc, acc->port());
    ASSERT_EQ(raw.upgrade("/", "", true), 101);
    std::string message = hello_frame();
    for (int i = 1; i <= 64; ++i)
        message += request_frame(i, "grow", std::tuple{1 << 20});
    raw.send_message(message);
    const auto limit = std::chrono::steady_clock::now() + 60s;
    while (srv.counters().write_overflows == 0 && std::chrono::steady_clock::now() < limit)
        std::this_thread::yield();
    EXPECT_EQ(srv.counters().write_overflows, 1u);
    srv.stop();
    io.join();
}

TEST(WsBatch, LinksWorkOnAnyExecutorAndAfterGivingTheirBuffersBack)
{
    // Strands as the executors (not an io_context's: the links use type-erased strands),
    // and short keepalive periods, so that links that went quiet after a burst give their
    // buffers back (a cancelled read, restarted small) and must still work.
    io_threads io(2);
    mailroom::server srv(asio::make_strand(io.ioc), quiet_server());
    srv.get_dispatcher().add("echoRemote", "echo", [](std::string s) { return s; });
    auto acc = mailroom::ws::make_acceptor(
        asio::make_strand(io.ioc),
        {.stream = {.keepalive_interval = 0ms, .keepalive_timeout = 60ms}});
    ASSERT_FALSE(srv.listen(acc));
    ws_client client(asio::make_strand(io.ioc), acc->port(),
                     {.stream = {.keepalive_interval = 10ms, .keepalive_timeout = 60ms}});
    auto call = [&](std::size_t size) {
        return client.rpc.async_call<std::string>(
            {.server_type = "echo", .service = "echoRemote", .method = "echo"}, "k",
            std::tuple{std::string(size, 'q')}, asio::use_future);
    };
    for (int round = 0; round < 3; ++round) {
        std::vector<std::future<std::tuple<std::error_code, std::string>>> burst;
        for (int i = 0; i < 50; ++i)
            burst.push_back(call(8000)); // 400 KB each way: the buffers grow
        for (auto& f : burst)
            EXPECT_EQ(wait(f), std::make_tuple(std::error_code{}, std::string(8000, 'q')));
        // Quiet for several keepalive periods (the client's pings keep the link up).
        asio::steady_timer quiet(io.ioc, 100ms);
        auto waited = quiet.async_wait(asio::use_future);
        wait(waited);
        auto small = call(10);
        EXPECT_EQ(wait(small), std::make_tuple(std::error_code{}, std::string(10, 'q')));
    }
    EXPECT_EQ(srv.connections(), 1u) << "one link throughout";
    client.station.close();
    srv.stop();
    io.join();
}

} // namespace
