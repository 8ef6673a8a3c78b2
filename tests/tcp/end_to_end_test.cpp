#include <mailroom/tcp.hpp>
// Test that header file is self-contained.

#include "support/tcp_cluster.hpp"

#include <mailroom/protocol/codec.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::echo_path;
using mailroom::test::tcp_cluster;
using mailroom::test::wait;
namespace asio = boost::asio;

/// Calls echoRemote.add(a, b) and returns a future of (error, sum).
std::future<std::tuple<std::error_code, int>> add(tcp_cluster& c, int a, int b,
                                                  mailroom::call_options o = {})
{
    return c.rpc->async_call<int>(echo_path("echoRemote", "add"), "key", std::tuple{a, b}, o,
                                  asio::use_future);
}

TEST(TcpEndToEnd, TenThousandConcurrentCallsAllReturnTheirOwnResult)
{
    tcp_cluster c;
    c.start_server();
    constexpr int n = 10'000;
    std::vector<int> results(n, -1);
    std::vector<std::error_code> errors(n);
    std::atomic<int> done{0};
    std::promise<void> all;
    for (int i = 0; i < n; ++i) {
        c.rpc->async_call<int>(echo_path("echoRemote", "add"), i, std::tuple{i, i},
                               [&, i](std::error_code ec, int sum) {
                                   errors[i] = ec;
                                   results[i] = sum;
                                   if (++done == n)
                                       all.set_value();
                               });
    }
    auto f = all.get_future();
    wait(f);
    for (int i = 0; i < n; ++i) {
        ASSERT_FALSE(errors[i]) << "call " << i << ": " << errors[i].message();
        ASSERT_EQ(results[i], 2 * i) << "call " << i;
    }
}

TEST(TcpEndToEnd, StoppingTheServerFailsEveryInFlightCallOnceWithDisconnected)
{
    tcp_cluster c;
    std::mutex mu;
    std::vector<mailroom::responder> held; // the server never answers these
    std::promise<void> all_arrived;
    constexpr int n = 100;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add_raw("user", "echoRemote", "hang",
                  [&](const mailroom::call_context&, const msgpack::object&, mailroom::responder r) {
                      std::lock_guard lock(mu);
                      held.push_back(std::move(r));
                      if (held.size() == n)
                          all_arrived.set_value();
                  });
    };
    c.start_server();
    std::atomic<int> completions{0}, disconnected{0};
    std::promise<void> all_done;
    for (int i = 0; i < n; ++i)
        c.rpc->async_call<int>(echo_path("echoRemote", "hang"), i, std::tuple{},
                               [&](std::error_code ec, int) {
                                   disconnected += (ec == error::disconnected);
                                   if (++completions == n)
                                       all_done.set_value();
                               });
    auto arrived = all_arrived.get_future();
    wait(arrived);
    c.stop_server();
    auto done = all_done.get_future();
    wait(done);
    EXPECT_EQ(disconnected.load(), n);
    EXPECT_EQ(completions.load(), n) << "each call completes exactly once";
    std::lock_guard lock(mu);
    held.clear();
}

TEST(TcpEndToEnd, RemoteFailuresArriveAsNamedErrors)
{
    tcp_cluster c;
    c.start_server();
    auto unknown_method = c.rpc->async_call(echo_path("echoRemote", "nope"), "k", std::tuple{},
                                            asio::use_future);
    auto unknown_service = c.rpc->async_call(echo_path("nobody", "echo"), "k", std::tuple{},
                                             asio::use_future);
    auto bad_args = c.rpc->async_call(echo_path("echoRemote", "add"), "k",
                                      std::tuple{std::string("x"), 1}, asio::use_future);
    auto bad_count = c.rpc->async_call(echo_path("echoRemote", "add"), "k", std::tuple{1},
                                       asio::use_future);
    auto thrown = c.rpc->async_call(echo_path("echoRemote", "fail"), "k",
                                    std::tuple{std::string("out of gold")}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(unknown_method)), error::unknown_method);
    EXPECT_EQ(std::get<0>(wait(unknown_service)), error::unknown_service);
    EXPECT_EQ(std::get<0>(wait(bad_args)), error::bad_arguments);
    EXPECT_EQ(std::get<0>(wait(bad_count)), error::bad_arguments);
    auto [ec, r] = wait(thrown);
    EXPECT_EQ(ec, error::remote_error);
    EXPECT_EQ(r.error_message(), "out of gold");
}

/// Connects a raw socket to the server, sends `bytes`, and reports whether the server
/// closed the connection (the read ends with an error) instead of answering.
bool server_closes_after(tcp_cluster& c, std::vector<char> bytes)
{
    asio::ip::tcp::socket s(c.ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), c.port()});
    asio::write(s, asio::buffer(bytes));
    char buf[64];
    auto f = s.async_read_some(asio::buffer(buf), asio::use_future);
    try {
        wait(f);
        // Anything read would have to be followed by a close; read until it comes.
        for (;;) {
            auto g = s.async_read_some(asio::buffer(buf), asio::use_future);
            wait(g);
        }
    } catch (const boost::system::system_error&) {
        return true;
    }
}

std::vector<char> with_hello(std::vector<char> tail)
{
    mailroom::frame hello;
    mailroom::protocol::encode_hello(hello, "raw");
    auto w = hello.wire();
    std::vector<char> out(w.begin(), w.end());
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

TEST(TcpEndToEnd, AnOversizedFrameClosesOnlyThatConnection)
{
    tcp_cluster c;
    c.start_server();
    auto before = add(c, 1, 2);
    EXPECT_EQ(wait(before), std::make_tuple(std::error_code{}, 3));

    EXPECT_TRUE(server_closes_after(c, {'\x7f', '\xff', '\xff', '\xff', 'x'}));

    auto after = add(c, 2, 3);
    EXPECT_EQ(wait(after), std::make_tuple(std::error_code{}, 5)) << "other clients still served";
}

TEST(TcpEndToEnd, GarbageClosesOnlyThatConnection)
{
    tcp_cluster c;
    c.start_server();
    auto before = add(c, 1, 2);
    EXPECT_EQ(wait(before), std::make_tuple(std::error_code{}, 3));

    EXPECT_TRUE(server_closes_after(c, {'\0', '\0', '\0', '\3', '\xc1', '\xc1', '\xc1'}));
    EXPECT_TRUE(server_closes_after(c, with_hello({'\0', '\0', '\0', '\2', '\x91', '\xc1'})));
    EXPECT_TRUE(server_closes_after(c, {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'}));

    auto after = add(c, 2, 3);
    EXPECT_EQ(wait(after), std::make_tuple(std::error_code{}, 5)) << "other clients still served";
}

TEST(TcpEndToEnd, ATimeoutFiresAndTheLateReplyIsIgnored)
{
    tcp_cluster c;
    std::promise<mailroom::responder> later;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add_raw("user", "echoRemote", "later",
                  [&](const mailroom::call_context&, const msgpack::object&, mailroom::responder r) {
                      later.set_value(std::move(r));
                  });
    };
    c.start_server();
    auto slow = c.rpc->async_call<int>(echo_path("echoRemote", "later"), "k", std::tuple{},
                                       mailroom::call_options{.timeout = 50ms}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(slow)), error::timeout);

    auto held = later.get_future();
    auto r = wait(held);
    r.send(42); // arrives after the timeout: the station drops it

    auto next = add(c, 20, 22);
    EXPECT_EQ(wait(next), std::make_tuple(std::error_code{}, 42)) << "the link is still fine";
    EXPECT_EQ(c.station->pending(), 0u);
}

/// Holds a port that refuses connections (bound, not listening) until released.
struct reserved_port {
    explicit reserved_port(asio::io_context& ioc) : a(ioc)
    {
        a.open(asio::ip::tcp::v4());
        a.set_option(asio::socket_base::reuse_address(true));
        a.bind({asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    void release() { a.close(); }
    asio::ip::tcp::acceptor a;
    std::uint16_t port = 0;
};

TEST(TcpEndToEnd, CallsMadeBeforeTheServerListensSucceedOnceItIsUp)
{
    tcp_cluster c(2, {.connect_timeout = 20s, .reconnect_delay = 5ms});
    reserved_port p(c.ioc);
    c.add_echo_server(p.port);
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int i = 0; i < 50; ++i)
        calls.push_back(add(c, i, 1));
    // Refused connects are being retried; no call may have completed yet.
    for (auto& f : calls)
        EXPECT_NE(f.wait_for(0s), std::future_status::ready);
    p.release();
    c.start_server(p.port);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(wait(calls[i]), std::make_tuple(std::error_code{}, i + 1));
}

TEST(TcpEndToEnd, CallsFailWithConnectFailedWhenNoServerComesUp)
{
    tcp_cluster c(2, {.connect_timeout = 200ms, .reconnect_delay = 5ms});
    reserved_port p(c.ioc);
    c.add_echo_server(p.port);
    auto f = add(c, 1, 1);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
}

TEST(TcpEndToEnd, TheNextCallReconnectsAfterTheServerRestarts)
{
    tcp_cluster c;
    c.start_server();
    auto first = add(c, 1, 1);
    EXPECT_EQ(wait(first), std::make_tuple(std::error_code{}, 2));
    const auto port = c.port();
    c.stop_server();
    c.start_server(port);
    // The old link may not have noticed the close yet: the first call can fail with
    // disconnected; within a few calls the station must be connected again.
    std::error_code last = error::disconnected;
    for (int i = 0; i < 20 && last; ++i) {
        auto f = add(c, 2, 2);
        auto [ec, v] = wait(f);
        last = ec;
        if (!ec)
            EXPECT_EQ(v, 4);
        else
            EXPECT_EQ(ec, error::disconnected);
    }
    EXPECT_FALSE(last);
}

TEST(TcpEndToEnd, KeepaliveDetectsAServerThatStoppedAnswering)
{
    // A raw server that completes the handshake and then goes silent (no pongs, no replies).
    tcp_cluster c(2, {}, {.keepalive_interval = 20ms, .keepalive_timeout = 150ms});
    asio::ip::tcp::acceptor a(c.ioc, {asio::ip::make_address("127.0.0.1"), 0});
    c.add_echo_server(a.local_endpoint().port());
    std::promise<void> closed_by_client;
    std::thread silent([&] {
        asio::ip::tcp::socket s(c.ioc);
        a.accept(s);
        char hdr[4];
        asio::read(s, asio::buffer(hdr));
        std::vector<char> body((std::uint8_t(hdr[2]) << 8) | std::uint8_t(hdr[3]));
        asio::read(s, asio::buffer(body));
        mailroom::frame ack;
        mailroom::protocol::encode_hello_ack(ack, "echo-1");
        auto w = ack.wire();
        asio::write(s, asio::buffer(w.data(), w.size()));
        boost::system::error_code ec;
        char sink[1024];
        while (!ec)
            s.read_some(asio::buffer(sink), ec); // swallow pings and requests until closed
        closed_by_client.set_value();
    });
    auto f = add(c, 1, 1); // default 30 s timeout: only keepalive can end it early
    EXPECT_EQ(std::get<0>(wait(f)), error::disconnected);
    auto closed = closed_by_client.get_future();
    wait(closed);
    silent.join();
}

TEST(TcpEndToEnd, AServerRefusingTheProtocolVersionSaysSoBeforeClosing)
{
    tcp_cluster c;
    c.start_server();
    asio::ip::tcp::socket s(c.ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), c.port()});
    // hello with version 99: [6, 99, "future"]
    const char hello[] = {'\0', '\0', '\0', '\x0a', '\x93', '\x06', '\x63', '\xa6',
                          'f',  'u',  't',  'u',    'r',    'e'};
    asio::write(s, asio::buffer(hello));
    char hdr[4];
    auto f = asio::async_read(s, asio::buffer(hdr), asio::use_future);
    wait(f);
    std::vector<char> body((std::uint8_t(hdr[2]) << 8) | std::uint8_t(hdr[3]));
    auto g = asio::async_read(s, asio::buffer(body), asio::use_future);
    wait(g);
    msgpack::zone zone;
    mailroom::protocol::message m;
    ASSERT_FALSE(mailroom::protocol::decode(body, zone, m));
    ASSERT_EQ(m.kind, mailroom::protocol::message_kind::hello_ack);
    EXPECT_EQ(m.hello.code, static_cast<int>(error::version_mismatch));
    EXPECT_EQ(m.hello.peer_id, "echo-1");
    char more;
    auto h = s.async_read_some(asio::buffer(&more, 1), asio::use_future);
    EXPECT_THROW(wait(h), boost::system::system_error) << "then the server closes";
}

TEST(TcpEndToEnd, OversizedCallsAndResultsFailAloneWithFrameTooLarge)
{
    tcp_cluster c(2, {.max_frame_size = 64 << 10});
    c.server_max_frame_size = 1 << 10;
    c.bind_more = [](mailroom::dispatcher& d) {
        d.add("echoRemote", "grow", [](int n) { return std::string(static_cast<std::size_t>(n), 'z'); });
    };
    c.start_server();
    auto big_call = c.rpc->async_call<std::string>(echo_path("echoRemote", "echo"), "k",
                                                   std::tuple{std::string(100 << 10, 'x')},
                                                   asio::use_future);
    EXPECT_EQ(std::get<0>(wait(big_call)), error::frame_too_large) << "refused by the client";
    auto big_result = c.rpc->async_call<std::string>(echo_path("echoRemote", "grow"), "k",
                                                     std::tuple{4096}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(big_result)), error::frame_too_large) << "refused by the server";
    auto fits = c.rpc->async_call<std::string>(echo_path("echoRemote", "grow"), "k",
                                               std::tuple{100}, asio::use_future);
    auto [ec, v] = wait(fits);
    EXPECT_FALSE(ec) << "the link survived: " << ec.message();
    EXPECT_EQ(v.size(), 100u);
}

TEST(TcpEndToEnd, ManyClientsShareOneServer)
{
    tcp_cluster server_side;
    server_side.start_server();
    std::vector<std::unique_ptr<tcp_cluster>> clients;
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int k = 0; k < 8; ++k) {
        clients.push_back(std::make_unique<tcp_cluster>(1));
        clients.back()->add_echo_server(server_side.port());
        for (int i = 0; i < 100; ++i)
            calls.push_back(add(*clients.back(), k, i));
    }
    for (int k = 0, j = 0; k < 8; ++k)
        for (int i = 0; i < 100; ++i, ++j)
            EXPECT_EQ(wait(calls[j]), std::make_tuple(std::error_code{}, k + i));
}

} // namespace
