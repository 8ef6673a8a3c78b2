#include <mailroom/ws.hpp>
// Test that header file is self-contained.

// Hostile WebSocket peers against a running server (label "faults"): a message that never
// ends, made of empty continuation frames (6 bytes each, nothing added to the message size),
// fast (bounded by max_message_frames) or slow with pings between them (bounded by
// max_message_time). The server closes that link with 1008 while another client's calls
// keep succeeding.

#include "support/wait.hpp"

#include <mailroom/client.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::test::wait;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

/// A masked client frame built by hand.
std::string client_frame(bool fin, std::uint8_t opcode, const std::string& payload)
{
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    out += static_cast<char>(0x80 | payload.size()); // < 126 here
    const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
    out.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += static_cast<char>(payload[i] ^ key[i % 4]);
    return out;
}

/// The code of the first close frame in `bytes` (unmasked server frames), if any.
std::optional<int> close_code(const std::string& bytes)
{
    std::size_t off = 0;
    while (off + 2 <= bytes.size()) {
        const auto op = static_cast<unsigned char>(bytes[off]) & 0x0f;
        std::size_t len = static_cast<unsigned char>(bytes[off + 1]) & 0x7f, header = 2;
        if (len == 126) {
            if (off + 4 > bytes.size())
                break;
            len = (std::size_t(static_cast<unsigned char>(bytes[off + 2])) << 8) |
                  static_cast<unsigned char>(bytes[off + 3]);
            header = 4;
        }
        if (off + header + len > bytes.size())
            break;
        if (op == 0x8 && len >= 2)
            return (static_cast<unsigned char>(bytes[off + header]) << 8) |
                   static_cast<unsigned char>(bytes[off + header + 1]);
        off += header + len;
    }
    return std::nullopt;
}

/// A server "echo-1" on a WebSocket acceptor with `options`, on two I/O threads.
struct ws_server {
    explicit ws_server(mailroom::ws::acceptor_options options)
    {
        srv.get_dispatcher().add("echoRemote", "add", [](int x, int y) { return x + y; });
        acc = mailroom::ws::make_acceptor(ioc.get_executor(), std::move(options));
        if (auto ec = srv.listen(acc))
            throw std::system_error(ec, "listen");
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }
    ~ws_server()
    {
        srv.stop();
        work.reset();
        for (auto& t : threads)
            t.join();
    }
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    mailroom::server srv{ioc.get_executor(),
                         {.server_id = "echo-1", .log = {.min_level = mailroom::log_level::off}}};
    std::shared_ptr<mailroom::ws::acceptor> acc;
    std::vector<std::thread> threads;
};

/** A peer that upgrades, says hello, opens a binary message with one byte and then sends
    `chunk` (continuation frames, pings) over and over, every `pause`, until the server
    hangs up; what the server sent is in `received`.
*/
struct attacker {
    attacker(std::uint16_t port, std::string chunk, std::chrono::milliseconds pause)
        : chunk_(std::move(chunk)), pause_(pause)
    {
        ws_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
        ws_.handshake("127.0.0.1", "/");
        mailroom::frame hello;
        mailroom::protocol::encode_hello(hello, "attacker");
        ws_.binary(true);
        ws_.write(asio::buffer(hello.body().data(), hello.body().size()));
        reader_ = std::thread([this] {
            char buf[4096];
            boost::system::error_code ec;
            while (!ec) {
                const auto n = ws_.next_layer().read_some(asio::buffer(buf), ec);
                received.append(buf, n);
            }
            done = true;
            hung_up_.set_value();
        });
        writer_ = std::thread([this] {
            boost::system::error_code ec;
            asio::write(ws_.next_layer(), asio::buffer(client_frame(false, 0x2, "x")), ec);
            while (!ec && !done) {
                asio::write(ws_.next_layer(), asio::buffer(chunk_), ec);
                ++chunks;
                if (pause_.count() > 0)
                    std::this_thread::sleep_for(pause_); // the attacker's pace, not a sync
            }
        });
    }
    ~attacker()
    {
        done = true;
        boost::system::error_code ignored;
        ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
        if (reader_.joinable())
            reader_.join();
        writer_.join();
    }
    /// Waits until the server hung up (at most `limit`).
    bool wait_closed(std::chrono::seconds limit)
    {
        if (hung_up_future_.wait_for(limit) != std::future_status::ready)
            return false;
        reader_.join();
        return true;
    }

    asio::io_context ioc_;
    websocket::stream<tcp::socket> ws_{ioc_};
    std::string chunk_;
    std::chrono::milliseconds pause_;
    std::string received;
    std::atomic<bool> done{false};
    std::atomic<long> chunks{0};
    std::promise<void> hung_up_;
    std::future<void> hung_up_future_ = hung_up_.get_future();
    std::thread reader_, writer_;
};

/// Another client's calls, in a loop until `stop`: how many succeeded and failed.
struct bystander {
    explicit bystander(std::uint16_t port)
    {
        station.add_transport("ws", mailroom::ws::make_mailbox_factory());
        station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                            .port = port, .transport = "ws"});
        thread = std::thread([this] { ioc.run(); });
    }
    ~bystander()
    {
        station.close();
        work.reset();
        thread.join();
    }
    /// One call; true if it answered right.
    bool call(int i)
    {
        auto f = rpc.async_call<int>({.server_type = "echo", .service = "echoRemote", .method = "add"},
                                     "k", std::tuple{i, 1}, asio::use_future);
        return wait(f) == std::make_tuple(std::error_code{}, i + 1);
    }
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    mailroom::mail_station station{ioc.get_executor(), {.log = {.min_level = mailroom::log_level::off}}};
    mailroom::router router;
    mailroom::proxy rpc{station, router};
    std::thread thread;
};

void run_attack(ws_server& server, attacker& a, std::chrono::seconds limit)
{
    bystander other(server.acc->port());
    ASSERT_TRUE(other.call(0));
    // Calls while the attack runs, and at least ten (the server may close the attacker's
    // link within a millisecond, before the first of them).
    int ok = 0, failed = 0;
    for (int i = 1; (!a.done || i <= 10) && i < 1'000'000; ++i)
        (other.call(i) ? ok : failed)++;
    ASSERT_TRUE(a.wait_closed(limit)) << "the server never closed the attacker's link";
    EXPECT_EQ(close_code(a.received), 1008) << "policy violation, after " << a.chunks << " chunks";
    EXPECT_EQ(failed, 0);
    EXPECT_GT(ok, 0);
    EXPECT_TRUE(other.call(-1)) << "the other client is unaffected after the attack";
}

TEST(WsFaults, AMessageOfEndlessEmptyContinuationFramesIsClosedByItsFrameCount)
{
    ws_server server({.stream = {.keepalive_interval = 0ms,
                                 .keepalive_timeout = 60'000ms,
                                 .handshake_timeout = 500ms}});
    std::string chunk;
    for (int i = 0; i < 200; ++i)
        chunk += client_frame(false, 0x0, "");
    attacker a(server.acc->port(), chunk, 0ms);
    const auto started = std::chrono::steady_clock::now();
    run_attack(server, a, 30s);
    EXPECT_GE(a.chunks.load() * 200, 1024) << "it took more than max_message_frames frames";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s)
        << "the frame count, not max_message_time (30 s)";
}

TEST(WsFaults, ASlowMessageKeptAliveByPingsIsClosedByItsTime)
{
    ws_server server({.max_message_time = 300ms,
                      .stream = {.keepalive_interval = 0ms,
                                 .keepalive_timeout = 60'000ms,
                                 .handshake_timeout = 500ms}});
    attacker a(server.acc->port(), client_frame(false, 0x0, "") + client_frame(true, 0x9, "hi"),
               20ms);
    const auto started = std::chrono::steady_clock::now();
    run_attack(server, a, 30s);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s)
        << "max_message_time, not the keepalive timeout";
}

} // namespace
