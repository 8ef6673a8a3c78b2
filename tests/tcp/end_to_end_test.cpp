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

/// Starts the cluster's echo server as incarnation 7; its entry, without an epoch.
mailroom::server_info entry_of_incarnation_7(tcp_cluster& c)
{
    c.start_server();
    c.srv->set_epoch(7);
    auto at = c.address();
    at.id = c.server_id;
    at.server_type = c.server_type;
    return at;
}

TEST(TcpEndToEnd, ALinkToAnotherIncarnationOfTheServerIsRefusedWithWrongServer)
{
    // The registry gave the running echo-1 epoch 7 (docs/membership.md). A station whose
    // table says epoch 8 (the server restarted, and this process is the old one) refuses the
    // link; one whose table says 7, or nothing (servers.json), uses it.
    tcp_cluster c;
    auto at = entry_of_incarnation_7(c);
    at.epoch = 8;
    c.station->add_server(at);
    auto refused = add(c, 1, 2);
    auto [ec, sum] = wait(refused);
    EXPECT_EQ(ec, error::wrong_server) << ec.message();
    at.epoch = 7;
    c.station->add_server(at);
    auto same = add(c, 1, 2);
    auto [ec7, sum7] = wait(same);
    EXPECT_FALSE(ec7) << ec7.message();
    EXPECT_EQ(sum7, 3);
    at.epoch = 0;
    c.station->add_server(at);
    auto unchecked = add(c, 2, 2);
    auto [ec0, sum0] = wait(unchecked);
    EXPECT_FALSE(ec0) << ec0.message();
    EXPECT_EQ(sum0, 4);
    (void)sum;
}

TEST(TcpEndToEnd, AnEntryThatLearnsItsEpochKeepsItsLinkAndItsCalls)
{
    // An App lists a server in servers.json (no epoch), then the registry names the same
    // server at the same address with its epoch: calls already made, queued while the link
    // connects or sent on it, go on; none fails with not_sent for the change.
    tcp_cluster c;
    auto at = entry_of_incarnation_7(c);
    c.station->add_server(at);
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int i = 0; i < 20; ++i)
        calls.push_back(add(c, i, 1));
    at.epoch = 7;
    c.station->add_server(at);
    for (int i = 0; i < 20; ++i)
        calls.push_back(add(c, i, 2));
    for (std::size_t i = 0; i < calls.size(); ++i) {
        auto [ec, sum] = wait(calls[i]);
        EXPECT_FALSE(ec) << "call " << i << ": " << ec.message();
        EXPECT_EQ(sum, static_cast<int>(i % 20) + (i < 20 ? 1 : 2));
    }
    EXPECT_EQ(c.station->counters().not_sent, 0u);
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


// The station's snapshot (detail::view_of): calls from several threads while another
// thread keeps adding and removing a second server of the same type. A call to the server
// that never changes always succeeds; a routed call succeeds or names why not; every call
// completes exactly once.
TEST(TcpEndToEnd, CallsFromManyThreadsWhileServersJoinAndLeaveEachCompleteOnce)
{
    tcp_cluster c(2);
    c.start_server();
    // echo-2 is the same process: its handshake answers as echo-1, so links to it fail fast
    // (wrong_server).
    mailroom::server_info second = c.address();
    second.id = "echo-2";
    second.server_type = c.server_type;

    constexpr int callers = 3;
    constexpr int per_caller = 2'000;
    constexpr int total = callers * per_caller;
    std::vector<std::atomic<int>> completions(total);
    std::atomic<int> done{0}, direct_failures{0}, routed_ok{0}, routed_failed{0}, unexpected{0};
    std::promise<void> all_done;
    auto finish = [&](int i) {
        if (completions[static_cast<std::size_t>(i)].fetch_add(1) == 0 && done.fetch_add(1) + 1 == total)
            all_done.set_value();
    };

    std::atomic<bool> stop{false};
    std::atomic<int> changes{0};
    std::thread membership([&] {
        while (!stop.load()) {
            c.station->add_server(second);
            ++changes;
            std::this_thread::yield();
            c.station->remove_server("echo-2");
            c.station->replace_servers(c.station->servers()->all()); // nothing changes
            ++changes;
        }
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t)
        threads.emplace_back([&, t] {
            for (int k = 0; k < per_caller; ++k) {
                const int i = t * per_caller + k;
                if (k % 50 == 0) { // let the membership move on between chunks of calls
                    const int seen = changes.load();
                    while (changes.load() < seen + 2)
                        std::this_thread::yield();
                }
                if (k % 2 == 0) {
                    c.rpc->async_call_to<int>("echo-1", echo_path("echoRemote", "add"),
                                              std::tuple{i, 1}, [&, i](std::error_code ec, int v) {
                                                  if (ec || v != i + 1)
                                                      ++direct_failures;
                                                  finish(i);
                                              });
                } else {
                    c.rpc->async_call<int>(
                        echo_path("echoRemote", "add"), mailroom::route_param{}, std::tuple{i, 1},
                        [&, i](std::error_code ec, int v) {
                            if (!ec && v == i + 1)
                                ++routed_ok;
                            else if (ec != error::connect_failed && ec != error::disconnected &&
                                     ec != error::not_sent && ec != error::wrong_server &&
                                     ec != error::unknown_server)
                                ++unexpected;
                            else
                                ++routed_failed;
                            finish(i);
                        });
                }
            }
        });
    for (auto& t : threads)
        t.join();
    auto f = all_done.get_future();
    wait(f);
    stop = true;
    membership.join();

    EXPECT_EQ(direct_failures.load(), 0);
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_GT(routed_ok.load(), 0);
    for (int i = 0; i < total; ++i)
        ASSERT_EQ(completions[static_cast<std::size_t>(i)].load(), 1) << "call " << i;
}
} // namespace
