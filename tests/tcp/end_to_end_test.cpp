#include <mailroom/tcp.hpp>
// Test that header file is self-contained.

// TCP-only behaviour. Everything a transport must do is in the conformance suite
// (tests/transports/), which runs for tcp and tcp_tls too.

#include "support/log_capture.hpp"
#include "support/tcp_cluster.hpp"

#include <mailroom/detail/to_std_error.hpp>
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
using mailroom::log_level;
using mailroom::test::echo_path;
using mailroom::test::log_capture;
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

TEST(TcpEndToEnd, TheServerLogsWhyAConnectionClosed)
{
    log_capture log; // outlives the server, which logs until it stops
    tcp_cluster c(1);
    c.server_log = log.logger(log_level::debug);
    c.server_max_frame_size = 1024;
    c.start_server();
    const asio::ip::tcp::endpoint server{asio::ip::make_address("127.0.0.1"), c.port()};
    {
        // A peer that connects and leaves: quietly.
        asio::ip::tcp::socket s(c.ioc);
        s.connect(server);
    }
    const auto eof = mailroom::detail::to_std_error(asio::error::eof);
    EXPECT_EQ(log.wait_for("closed: " + eof.message()), log_level::debug);
    {
        // A frame above the server's maximum: a warning that says so.
        asio::ip::tcp::socket s(c.ioc);
        s.connect(server);
        const char announces_4096[4] = {0, 0, 0x10, 0};
        asio::write(s, asio::buffer(announces_4096));
        const std::error_code too_large = error::frame_too_large;
        EXPECT_EQ(log.wait_for("closed: " + too_large.message()), log_level::warning);
    }
}

} // namespace
