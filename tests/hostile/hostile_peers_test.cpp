#include <mailroom/tcp.hpp>
// Test that header file is self-contained.

// Hostile peers against a running server (label "faults"; issue 16, item 4): each attack runs
// against a server on loopback while another client ("the bystander") keeps calling it; the
// attacker's link is closed (or refused) and the bystander's calls keep being answered.
// Attackers pace themselves with short pauses; no test waits on a pause, only on events
// (the server hanging up, an answer).

#include "support/log_capture.hpp"
#include "support/wait.hpp"

#include <mailroom/client.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/server.hpp>
#include <mailroom/ws.hpp>

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
#include <fstream>
#include <future>
#include <memory>
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

/// A masked client WebSocket frame built by hand (mask key 0: the payload as is).
std::string client_frame(bool fin, std::uint8_t opcode, const std::string& payload)
{
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    if (payload.size() < 126) {
        out += static_cast<char>(0x80 | payload.size());
    } else {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(payload.size() >> 8);
        out += static_cast<char>(payload.size() & 0xff);
    }
    out.append(4, '\0');
    return out + payload;
}

/// A value from /proc/self/status ("VmPeak", "VmHWM"), in KiB.
std::size_t status_kib(const std::string& key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + ":", 0) == 0)
            return std::stoul(line.substr(key.size() + 1));
    return 0;
}

/// A server "echo-1" on a tcp or ws acceptor, on two I/O threads.
struct server_under_attack {
    server_under_attack(bool ws, mailroom::server_options options, std::size_t max_connections = 0,
                        mailroom::logger log = {.min_level = mailroom::log_level::off})
        : srv(ioc.get_executor(), std::move(options))
    {
        srv.get_dispatcher().add("echoRemote", "add", [](int x, int y) { return x + y; });
        if (ws) {
            auto a = mailroom::ws::make_acceptor(
                ioc.get_executor(), {.max_connections = max_connections, .log = log});
            port_of = [a] { return a->port(); };
            refused_of = [a] { return a->refused(); };
            acc = a;
        } else {
            auto a = mailroom::tcp::make_acceptor(
                ioc.get_executor(), {.max_connections = max_connections, .log = log});
            port_of = [a] { return a->port(); };
            refused_of = [a] { return a->refused(); };
            acc = a;
        }
        if (auto ec = srv.listen(acc))
            throw std::system_error(ec, "listen");
        for (int i = 0; i < 2; ++i) {
            auto done = std::make_shared<std::promise<void>>();
            ran_out.push_back(done->get_future());
            threads.emplace_back([this, done] {
                ioc.run();
                done->set_value();
            });
        }
    }
    ~server_under_attack()
    {
        stop_within(std::chrono::seconds(60)); // a safety net: a test asserts its own stop
        for (auto& t : threads)
            t.join();
    }
    /** Stops the server and waits up to `bound` for its I/O threads to run out of work: every
        operation of every link completed. False if they did not (the threads are then
        stopped, so the test ends and reports it).
    */
    bool stop_within(std::chrono::seconds bound)
    {
        srv.stop();
        work.reset();
        const auto until = std::chrono::steady_clock::now() + bound;
        for (auto& f : ran_out)
            if (f.valid() && f.wait_until(until) != std::future_status::ready) {
                ioc.stop();
                return false;
            }
        return true;
    }
    std::uint16_t port() const { return port_of(); }

    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    mailroom::server srv;
    std::shared_ptr<mailroom::acceptor> acc;
    std::function<std::uint16_t()> port_of;
    std::function<std::uint64_t()> refused_of;
    std::vector<std::thread> threads;
    std::vector<std::future<void>> ran_out;
};

mailroom::server_options quiet(mailroom::server_options o = {})
{
    o.server_id = "echo-1";
    if (!o.log.sink)
        o.log.min_level = mailroom::log_level::off;
    return o;
}

/// Another client of the server, through a mail station.
struct bystander {
    bystander(bool ws, std::uint16_t port)
    {
        if (ws)
            station.add_transport("ws", mailroom::ws::make_mailbox_factory());
        else
            station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
        station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                            .port = port, .transport = ws ? "ws" : "tcp"});
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
        auto f = rpc.async_call<int>(
            {.server_type = "echo", .service = "echoRemote", .method = "add"}, "k",
            std::tuple{i, 1}, asio::use_future);
        return wait(f) == std::make_tuple(std::error_code{}, i + 1);
    }
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    mailroom::mail_station station{ioc.get_executor(),
                                   {.log = {.min_level = mailroom::log_level::off}}};
    mailroom::router router;
    mailroom::proxy rpc{station, router};
    std::thread thread;
};

std::string wire_of(mailroom::frame& f)
{
    const auto w = f.wire();
    return {w.data(), w.size()};
}

std::string hello_wire()
{
    mailroom::frame f;
    mailroom::protocol::encode_hello(f, "attacker");
    return wire_of(f);
}

/** A raw peer of a tcp server, or of a ws server over an upgraded WebSocket (one mailroom
    frame body per binary message). `send_socket` writes bytes onto the TCP socket itself,
    under any WebSocket framing.
*/
class raw_peer {
public:
    raw_peer(bool ws, std::uint16_t port) : ws_(ws)
    {
        stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
        if (ws_) {
            stream_.handshake("127.0.0.1", "/");
            stream_.binary(true);
            // One frame per message, however large: the attacks here are about the message,
            // not its fragments (which the frame-count guard bounds on its own).
            stream_.auto_fragment(false);
        }
    }
    ~raw_peer()
    {
        boost::system::error_code ignored;
        stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.next_layer().close(ignored);
    }

    /// Sends one mailroom frame (its wire form on tcp, its body as a message on ws).
    boost::system::error_code send(mailroom::frame& f)
    {
        boost::system::error_code ec;
        if (ws_) {
            const auto b = f.body();
            stream_.write(asio::buffer(b.data(), b.size()), ec);
        } else {
            const auto w = f.wire();
            asio::write(stream_.next_layer(), asio::buffer(w.data(), w.size()), ec);
        }
        return ec;
    }

    /// Bytes straight onto the TCP socket, under any WebSocket framing (from another thread
    /// than a reader's, as an attacker would).
    boost::system::error_code send_socket(const std::string& bytes)
    {
        boost::system::error_code ec;
        asio::write(stream_.next_layer(), asio::buffer(bytes), ec);
        return ec;
    }

    /// Reads one frame body (tcp) or message (ws); empty with `ec` set when the link closed.
    std::string read(boost::system::error_code& ec)
    {
        if (ws_) {
            boost::beast::flat_buffer buf;
            stream_.read(buf, ec);
            if (ec)
                return {};
            const auto d = buf.cdata();
            return std::string(static_cast<const char*>(d.data()), d.size());
        }
        char len[4];
        asio::read(stream_.next_layer(), asio::buffer(len), ec);
        if (ec)
            return {};
        const std::size_t n = (std::size_t(static_cast<unsigned char>(len[0])) << 24) |
                              (std::size_t(static_cast<unsigned char>(len[1])) << 16) |
                              (std::size_t(static_cast<unsigned char>(len[2])) << 8) |
                              static_cast<unsigned char>(len[3]);
        std::string body(n, '\0');
        asio::read(stream_.next_layer(), asio::buffer(body), ec);
        return body;
    }

    /// Reads until the server closes the link (whatever it sends first); the close's error.
    boost::system::error_code read_until_closed()
    {
        boost::system::error_code ec;
        while (!ec)
            read(ec);
        return ec;
    }

    /// Hello, then its ack; true if the server accepted it.
    bool say_hello()
    {
        mailroom::frame f;
        mailroom::protocol::encode_hello(f, "attacker");
        if (send(f))
            return false;
        boost::system::error_code ec;
        const auto body = read(ec);
        if (ec)
            return false;
        msgpack::zone zone;
        mailroom::protocol::message m;
        return !mailroom::protocol::decode({body.data(), body.size()}, zone, m) &&
               m.kind == mailroom::protocol::message_kind::hello_ack && m.hello.code == 0;
    }

    /// One call of echoRemote.add(x, 1) on this link; true if answered x + 1.
    bool call(int x)
    {
        mailroom::frame f;
        mailroom::protocol::encode_request(f, 7, {.server_type = "echo", .service = "echoRemote",
                                                  .method = "add"},
                                           std::make_tuple(x, 1));
        if (send(f))
            return false;
        boost::system::error_code ec;
        const auto body = read(ec);
        if (ec)
            return false;
        msgpack::zone zone;
        mailroom::protocol::message m;
        if (mailroom::protocol::decode({body.data(), body.size()}, zone, m) ||
            m.kind != mailroom::protocol::message_kind::response || m.response.code != 0)
            return false;
        int result = 0;
        return m.response.result.convert(result) && result == x + 1;
    }

    tcp::socket& socket() { return stream_.next_layer(); }

private:
    bool ws_;
    asio::io_context ioc_;
    websocket::stream<tcp::socket> stream_{ioc_};
};

/// Runs `attack` on its own thread until `stop`; pauses between rounds are the attacker's pace.
class attack_loop {
public:
    template <class Round>
    explicit attack_loop(Round round)
        : thread_([this, round]() mutable {
              while (!stop_ && round())
                  std::this_thread::sleep_for(20ms); // the attacker's pace, not a sync
          })
    {
    }
    ~attack_loop()
    {
        stop_ = true;
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class HostilePeers : public ::testing::TestWithParam<bool> {
protected:
    bool ws() const { return GetParam(); }
};

// --- 1. The hello deadline -------------------------------------------------------------------

TEST_P(HostilePeers, ALinkThatOnlyPingsIsClosedAtTheHelloDeadline)
{
    server_under_attack server(ws(), quiet({.handshake_timeout = 300ms}));
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    raw_peer attacker(ws(), server.port());
    raw_peer honest(ws(), server.port());
    ASSERT_TRUE(honest.say_hello());
    const auto started = std::chrono::steady_clock::now();
    std::atomic<int> pings{0};
    mailroom::frame ping;
    mailroom::protocol::encode_ping(ping, 1);
    // A mailroom ping (tcp) or a WebSocket ping control frame (ws): both answered, neither
    // moves the deadline.
    const std::string bytes = ws() ? client_frame(true, 0x9, "") : wire_of(ping);
    {
        attack_loop loop([&] {
            ++pings;
            return !attacker.send_socket(bytes);
        });
        EXPECT_TRUE(attacker.read_until_closed()) << "the server closed it";
    }
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 250ms) << "not before the deadline";
    EXPECT_LT(took, 10s) << "at the deadline, whatever the pings (" << pings << ")";
    EXPECT_TRUE(other.call(1)) << "the other client is unaffected";
    EXPECT_TRUE(honest.call(41)) << "a link that said hello is past its deadline";
}

TEST_P(HostilePeers, ALinkThatTricklesBytesIsClosedAtTheHelloDeadline)
{
    server_under_attack server(ws(), quiet({.handshake_timeout = 300ms}));
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    raw_peer attacker(ws(), server.port());
    // A hello one byte at a time, never its last byte (on ws, inside one WebSocket frame).
    const std::string hello = hello_wire();
    const std::string trickle =
        ws() ? client_frame(true, 0x2, hello.substr(mailroom::frame::header_size)) : hello;
    std::size_t sent = 0;
    const auto started = std::chrono::steady_clock::now();
    {
        attack_loop loop([&] {
            if (sent + 1 >= trickle.size())
                return true;
            return !attacker.send_socket(trickle.substr(sent++, 1));
        });
        EXPECT_TRUE(attacker.read_until_closed());
    }
    // On ws the server sends its close frame at the deadline, reads nothing more, and closes
    // the socket at the attacker's next bytes (or at the close's bound, handshake_timeout).
    EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
    EXPECT_TRUE(other.call(1));
    // Beast 1.74's close and read could wait for each other forever when the attacker's
    // bytes failed the read while Beast's close frame was being written (about one run in
    // ten, before the link wrote its own close frame): that link's operations never
    // completed, and the server's threads never ran out of work.
    EXPECT_TRUE(server.stop_within(20s)) << "a link's operations never completed";
}

// --- 2. What a link may buffer before its hello ----------------------------------------------

TEST_P(HostilePeers, APrefixAnnouncingTheFrameLimitIsRefusedBeforeTheHello)
{
    server_under_attack server(ws(), quiet());
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    std::vector<std::unique_ptr<raw_peer>> attackers;
    for (int i = 0; i < 20; ++i) {
        attackers.push_back(std::make_unique<raw_peer>(ws(), server.port()));
        // A prefix (tcp) or a WebSocket frame header (ws) announcing 8 MiB, and nothing more.
        if (ws())
            attackers.back()->send_socket(
                std::string("\x82\xff\x00\x00\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00", 14));
        else
            attackers.back()->send_socket(std::string("\x00\x80\x00\x00", 4));
    }
    for (auto& a : attackers)
        EXPECT_TRUE(a->read_until_closed()) << "above the 64 KiB limit before the hello";
    EXPECT_TRUE(other.call(1));
}

TEST_P(HostilePeers, LinksAnnouncingTheFrameLimitDoNotReserveIt)
{
    // Without the pre-hello limit, a prefix (tcp) or frame header (ws) announcing exactly the
    // limit on 200 links: the buffers grow with the bytes that arrive, so the server never
    // reserves 200 x 8 MiB (it did: 1.68 GB of heap, virtual size 22 MB -> 1.65 GB). The
    // hello deadline closes them.
    server_under_attack server(ws(), quiet({.handshake_timeout = 300ms,
                                            .max_frame_size_before_handshake = 0}));
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    const auto peak_before = status_kib("VmPeak");
    std::vector<std::unique_ptr<raw_peer>> attackers;
    for (int i = 0; i < 200; ++i) {
        attackers.push_back(std::make_unique<raw_peer>(ws(), server.port()));
        if (ws()) // a WebSocket frame header announcing 8 MiB
            attackers.back()->send_socket(
                std::string("\x82\xff\x00\x00\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00", 14));
        else
            attackers.back()->send_socket(std::string("\x00\x80\x00\x00", 4)); // 8 MiB
    }
    for (auto& a : attackers)
        EXPECT_TRUE(a->read_until_closed());
    const auto grew_mib = (status_kib("VmPeak") - peak_before) / 1024;
    EXPECT_LT(grew_mib, 200u) << "virtual size grew by " << grew_mib << " MiB";
    EXPECT_TRUE(other.call(1));
}

// --- 3. Memory amplification -----------------------------------------------------------------

TEST_P(HostilePeers, ARequestOfMillionsOfNilsIsRefusedAloneWithinItsDecodeBudget)
{
    server_under_attack server(ws(), quiet());
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    // One valid 8 MiB request: echoRemote.add([nil x 8,388,000]).
    mailroom::frame f;
    mailroom::protocol::detail::begin_request(
        f, 1, {.server_type = "echo", .service = "echoRemote", .method = "add"}, false);
    const std::uint32_t n = 8'388'000;
    const char header[] = {'\x91', '\xdd', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                           static_cast<char>(n >> 8), static_cast<char>(n)};
    f.write(header, sizeof header);
    f.write(std::string(n, '\xc0').data(), n);
    ASSERT_LT(f.body().size(), std::size_t{8} << 20);
    raw_peer attacker(ws(), server.port());
    ASSERT_TRUE(attacker.say_hello());
    const auto hwm_before = status_kib("VmHWM");
    ASSERT_FALSE(attacker.send(f));
    // Answered, not closed: frame_too_large for this request alone.
    boost::system::error_code ec;
    const auto answer = attacker.read(ec);
    ASSERT_FALSE(ec) << ec.message() << " (" << ec.category().name() << " " << ec.value() << ")";
    msgpack::zone zone;
    mailroom::protocol::message m;
    ASSERT_FALSE(mailroom::protocol::decode({answer.data(), answer.size()}, zone, m));
    EXPECT_EQ(m.response.id, 1u);
    EXPECT_EQ(m.response.code, static_cast<int>(mailroom::error::frame_too_large));
    // The decode stops at max_decode_ratio (8 bytes per byte: 64 MiB for this frame) instead
    // of one object per byte (24: 200 MiB), plus the frame itself (held by the attacker and
    // the server's read buffer in this one process).
    const auto grew_mib = (status_kib("VmHWM") - hwm_before) / 1024;
    EXPECT_LT(grew_mib, 112u) << "peak RSS grew by " << grew_mib << " MiB";
    // The attacker's link still carries calls, and so does everyone else's.
    mailroom::frame again;
    mailroom::protocol::encode_request(
        again, 2, {.server_type = "echo", .service = "echoRemote", .method = "add"},
        std::make_tuple(1, 2));
    ASSERT_FALSE(attacker.send(again));
    const auto second = attacker.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    msgpack::zone zone2;
    mailroom::protocol::message m2;
    ASSERT_FALSE(mailroom::protocol::decode({second.data(), second.size()}, zone2, m2));
    EXPECT_EQ(m2.response.id, 2u);
    EXPECT_EQ(m2.response.code, 0);
    EXPECT_TRUE(other.call(1));
}

// --- 4. The connection limit -----------------------------------------------------------------

TEST_P(HostilePeers, ConnectionsBeyondTheLimitAreRefusedAtOnce)
{
    mailroom::test::log_capture log;
    server_under_attack server(ws(), quiet(), 3, log.logger());
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0)); // 1 of 3
    std::vector<std::unique_ptr<raw_peer>> kept;
    for (int i = 0; i < 2; ++i) { // 2 and 3 of 3
        kept.push_back(std::make_unique<raw_peer>(ws(), server.port()));
        ASSERT_TRUE(kept.back()->say_hello());
    }
    for (int i = 0; i < 5; ++i) {
        if (ws()) {
            // Refused before the upgrade: the handshake itself fails.
            EXPECT_THROW(raw_peer(ws(), server.port()), boost::system::system_error);
        } else {
            raw_peer refused(ws(), server.port());
            EXPECT_TRUE(refused.read_until_closed());
        }
    }
    EXPECT_EQ(server.refused_of(), 5u);
    EXPECT_TRUE(log.wait_for("refusing connections beyond max_connections"));
    std::size_t refusal_lines = 0;
    for (const auto& [level, line] : log.lines())
        refusal_lines += line.find("refusing connections") != std::string::npos;
    EXPECT_EQ(refusal_lines, 1u) << "logged once per interval";
    EXPECT_TRUE(other.call(1)) << "the client already connected is unaffected";
    // A place frees once a connection is gone; the next one is accepted.
    kept.pop_back();
    bool accepted = false;
    for (int i = 0; i < 10'000 && !accepted; ++i) {
        try {
            raw_peer again(ws(), server.port());
            accepted = again.say_hello();
        } catch (const boost::system::system_error&) {
        }
    }
    EXPECT_TRUE(accepted);
    EXPECT_TRUE(other.call(2));
}

// --- 5. Log flooding -------------------------------------------------------------------------

TEST_P(HostilePeers, BadConnectionsFromOneAddressLogOneWarningPerInterval)
{
    mailroom::test::log_capture log;
    server_under_attack server(ws(), quiet({.log = log.logger()}));
    bystander other(ws(), server.port());
    ASSERT_TRUE(other.call(0));
    for (int i = 0; i < 50; ++i) {
        raw_peer attacker(ws(), server.port());
        mailroom::frame f;
        mailroom::protocol::encode_request(f, 1, {.server_type = "echo", .service = "echoRemote",
                                                  .method = "add"},
                                           std::make_tuple(1, 2)); // no hello first
        attacker.send(f);
        EXPECT_TRUE(attacker.read_until_closed());
    }
    EXPECT_EQ(server.srv.counters().protocol_errors, 50u);
    std::size_t warnings = 0;
    for (const auto& [level, line] : log.lines())
        warnings += level == mailroom::log_level::warning;
    EXPECT_EQ(warnings, 1u) << "one line for 127.0.0.1 in this 10 s window";
    EXPECT_TRUE(other.call(1));
}

INSTANTIATE_TEST_SUITE_P(Transports, HostilePeers, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "ws" : "tcp"; });

} // namespace
