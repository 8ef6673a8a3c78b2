// The TCP transport's framed stream (transports/tcp/src, private), driven from a raw socket
// at the other end: the read buffer over a link's life (small at first, grown for a burst or
// a large frame, small again once the link is quiet), the write buffers after a burst, and
// the write path (replies sent inside a read, frames sent from other threads).

#include "framed_stream.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/frame.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mailroom::tcp::stream_options;
using mailroom::tcp::basic_plain_socket;
using mailroom::tcp::detail::framed_stream;
using mailroom::tcp::any_strand;
using mailroom::tcp::io_strand;

constexpr std::size_t initial_read = 4096;

/// What the stream delivered, with its buffers' sizes at that moment.
struct delivery {
    std::string body;
    std::size_t read_capacity;
    std::size_t write_capacity;
};

template <class Socket>
class basic_probe_stream final : public framed_stream<Socket> {
    using base = framed_stream<Socket>;

public:
    basic_probe_stream(Socket s, stream_options o, std::size_t max_frame)
        : base(std::move(s), o, max_frame, mailroom::native_protocol())
    {
    }

    void begin()
    {
        asio::post(this->executor(),
                   [self = std::static_pointer_cast<basic_probe_stream>(this->shared_from_this())] {
                       self->start();
                   });
    }

    void end() { this->close_stream(false); }

    /// Send every delivered body back, from inside the read.
    void echo(bool on) { echo_ = on; }

    /// Waits for the n-th delivery (1-based).
    delivery wait_for(std::size_t n)
    {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, 60s, [&] { return got_.size() >= n; }))
            throw std::runtime_error("timed out waiting for a delivery");
        return got_[n - 1];
    }

    std::size_t largest_read_capacity()
    {
        std::lock_guard lock(mu_);
        std::size_t m = 0;
        for (const auto& d : got_)
            m = std::max(m, d.read_capacity);
        return m;
    }

    std::future<std::error_code> closed_future() { return closed_.get_future(); }

private:
    void deliver(std::span<const char> body) override
    {
        if (echo_) {
            mailroom::frame f;
            f.write(body.data(), body.size());
            this->send_frame(std::move(f));
        }
        delivery d{std::string(body.begin(), body.end()), this->read_capacity(),
                   this->write_capacity()};
        std::lock_guard lock(mu_);
        got_.push_back(std::move(d));
        cv_.notify_all();
    }

    void closed(std::error_code ec, bool) override { closed_.set_value(ec); }

    bool echo_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<delivery> got_;
    std::promise<std::error_code> closed_;
};

using probe_stream = basic_probe_stream<basic_plain_socket<io_strand>>;

/// `c` followed by `i` in decimal (not `"c" + std::to_string(i)`: g++ 12's -Wrestrict
/// false positive, PR 105329).
std::string tag(char c, int i)
{
    std::string s(1, c);
    s += std::to_string(i);
    return s;
}

std::vector<char> wire_of(std::string_view body)
{
    mailroom::frame f;
    f.write(body.data(), body.size());
    const auto w = f.wire();
    return {w.begin(), w.end()};
}

/// The stream under test on one end of a loopback connection, a blocking raw socket on the
/// other, and one thread running the io_context.
class FramedStream : public ::testing::Test {
protected:
    void open(stream_options o, std::size_t max_frame = 8u << 20)
    {
        asio::ip::tcp::acceptor acc(ioc_, {asio::ip::make_address("127.0.0.1"), 0});
        peer_.connect(acc.local_endpoint());
        peer_.set_option(asio::ip::tcp::no_delay(true));
        auto s = acc.accept(io_strand(ioc_.get_executor()));
        s.set_option(asio::ip::tcp::no_delay(true));
        stream_ = std::make_shared<probe_stream>(std::move(s), o, max_frame);
        closed_ = stream_->closed_future();
        runner_ = std::thread([this] { ioc_.run(); });
    }

    void TearDown() override
    {
        if (stream_) {
            stream_->end();
            closed_.wait_for(60s);
        }
        stream_.reset();
        work_.reset();
        if (runner_.joinable())
            runner_.join();
    }

    void send_raw(std::span<const char> bytes) { asio::write(peer_, asio::buffer(bytes.data(), bytes.size())); }

    std::string read_raw_frame()
    {
        unsigned char h[4];
        asio::read(peer_, asio::buffer(h));
        const std::uint32_t len = (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) |
                                  (std::uint32_t{h[2]} << 8) | std::uint32_t{h[3]};
        std::string body(len, '\0');
        asio::read(peer_, asio::buffer(body));
        return body;
    }

    /// Reads frames until the stream's n-th ping, answering each ping with a pong.
    void answer_pings(int n)
    {
        for (int pings = 0; pings < n;) {
            const std::string body = read_raw_frame();
            std::uint64_t nonce = 0;
            if (mailroom::protocol::peek_kind(body) ==
                    static_cast<std::uint8_t>(mailroom::protocol::message_kind::ping) &&
                mailroom::protocol::decode_keepalive(body, nonce)) {
                ++pings;
                mailroom::frame pong;
                mailroom::protocol::encode_pong(pong, nonce);
                send_raw(pong.wire());
            }
        }
    }

    asio::io_context ioc_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
        ioc_.get_executor()};
    asio::ip::tcp::socket peer_{ioc_};
    std::shared_ptr<probe_stream> stream_;
    std::future<std::error_code> closed_;
    std::thread runner_;
};

stream_options no_keepalive()
{
    return {.keepalive_interval = 0ms, .keepalive_timeout = 0ms};
}

TEST_F(FramedStream, ALinkStartsWithTheInitialReadBuffer)
{
    open(no_keepalive());
    stream_->begin();
    send_raw(wire_of("hello"));
    const auto d = stream_->wait_for(1);
    EXPECT_EQ(d.body, "hello");
    EXPECT_EQ(d.read_capacity, initial_read);
}

TEST_F(FramedStream, ALargeFrameGrowsTheReadBufferWhichShrinksOnceItIsDrained)
{
    open(no_keepalive());
    stream_->begin();
    const std::string big(1u << 20, 'x');
    send_raw(wire_of(big));
    const auto d1 = stream_->wait_for(1);
    EXPECT_EQ(d1.body, big);
    EXPECT_GE(d1.read_capacity, big.size() + 4);

    send_raw(wire_of("small"));
    const auto d2 = stream_->wait_for(2);
    EXPECT_EQ(d2.body, "small");
    // Back to the adaptive size: the initial 4 KiB, or 8 KiB if the frame's first read
    // filled the first buffer.
    EXPECT_LE(d2.read_capacity, 2 * initial_read);
}

TEST_F(FramedStream, AQuietLinkReturnsToTheInitialReadBufferWithinAKeepalivePeriod)
{
    open({.keepalive_interval = 20ms, .keepalive_timeout = 0ms});
    // A burst of small frames: reads fill the buffer, which grows.
    constexpr std::size_t frames = 600;
    std::vector<char> burst;
    for (std::size_t i = 0; i < frames; ++i) {
        const auto w = wire_of(std::string(96, static_cast<char>('a' + i % 26)));
        burst.insert(burst.end(), w.begin(), w.end());
    }
    std::thread writer([&] { send_raw(burst); });
    stream_->begin();
    writer.join();
    stream_->wait_for(frames);
    ASSERT_GT(stream_->largest_read_capacity(), initial_read) << "the burst never filled a read";

    // Quiet now: the stream pings after each keepalive period of silence. The tick that
    // sends the second ping comes after one that saw only pongs (at most), so by then the
    // link restarted its read with the initial buffer.
    answer_pings(2);
    send_raw(wire_of("after"));
    const auto d = stream_->wait_for(frames + 1);
    EXPECT_EQ(d.body, "after");
    EXPECT_EQ(d.read_capacity, initial_read);
}

TEST_F(FramedStream, FramesOfEverySizeCrossIntactWithSmallReads)
{
    open({.keepalive_interval = 0ms,
          .keepalive_timeout = 0ms,
          .read_size = 1024,
          .initial_read_size = 256},
         100'000);
    std::mt19937 rng(11);
    std::uniform_int_distribution<std::size_t> size(0, 3000);
    std::vector<std::string> bodies;
    std::vector<char> stream;
    for (int i = 0; i < 300; ++i) {
        std::string body(i % 25 == 0 ? 100'000 - static_cast<std::size_t>(i) : size(rng), '\0');
        for (std::size_t k = 0; k < body.size(); ++k)
            body[k] = static_cast<char>((i * 7 + k * 3) & 0xff);
        const auto w = wire_of(body);
        stream.insert(stream.end(), w.begin(), w.end());
        bodies.push_back(std::move(body));
    }
    stream_->begin();
    std::thread writer([&] { send_raw(stream); });
    stream_->wait_for(bodies.size());
    writer.join();
    for (std::size_t i = 0; i < bodies.size(); ++i)
        ASSERT_EQ(stream_->wait_for(i + 1).body, bodies[i]) << "frame " << i;
}

TEST_F(FramedStream, AFrameAboveTheMaximumClosesTheLinkWithoutBufferingIt)
{
    open(no_keepalive(), 1000);
    stream_->begin();
    send_raw(wire_of("fits"));
    EXPECT_EQ(stream_->wait_for(1).body, "fits");
    send_raw(wire_of(std::string(1001, 'x')));
    ASSERT_EQ(closed_.wait_for(60s), std::future_status::ready);
    EXPECT_EQ(closed_.get(), mailroom::error::frame_too_large);
    stream_.reset(); // closed already
}

TEST_F(FramedStream, RepliesSentInsideAReadLeaveInOrder)
{
    open(no_keepalive());
    stream_->echo(true);
    stream_->begin();
    constexpr int frames = 2000;
    std::vector<char> burst;
    for (int i = 0; i < frames; ++i) {
        const auto w = wire_of(tag('m', i));
        burst.insert(burst.end(), w.begin(), w.end());
    }
    std::thread writer([&] { send_raw(burst); });
    for (int i = 0; i < frames; ++i)
        ASSERT_EQ(read_raw_frame(), tag('m', i));
    writer.join();
}

TEST_F(FramedStream, FramesFromAnotherThreadAndRepliesEachKeepTheirOrder)
{
    open(no_keepalive());
    stream_->echo(true);
    stream_->begin();
    constexpr int frames = 3000;
    std::thread peer_writer([&] {
        for (int i = 0; i < frames; ++i)
            send_raw(wire_of(tag('e', i)));
    });
    std::thread sender([&] {
        for (int i = 0; i < frames; ++i) {
            mailroom::frame f;
            const std::string body = tag('t', i);
            f.write(body.data(), body.size());
            stream_->send_frame(std::move(f));
        }
    });
    int next_e = 0;
    int next_t = 0;
    while (next_e < frames || next_t < frames) {
        const std::string body = read_raw_frame();
        ASSERT_FALSE(body.empty());
        int& next = body[0] == 'e' ? next_e : next_t;
        ASSERT_EQ(body.substr(1), std::to_string(next)) << body;
        ++next;
    }
    peer_writer.join();
    sender.join();
}

TEST_F(FramedStream, WriteBuffersGiveBackTheirCapacityAfterABurst)
{
    open(no_keepalive());
    stream_->echo(true);
    stream_->begin();
    const std::string big(1u << 20, 'w');
    std::thread writer([&] { send_raw(wire_of(big)); });
    EXPECT_EQ(read_raw_frame(), big);
    writer.join();
    // Small round trips: the buffer that held the 1 MiB echo is freed after the first
    // write it carries that is four times smaller.
    for (int i = 0; i < 3; ++i) {
        send_raw(wire_of("s"));
        EXPECT_EQ(read_raw_frame(), "s");
    }
    send_raw(wire_of("last"));
    const auto d = stream_->wait_for(5);
    EXPECT_EQ(d.body, "last");
    EXPECT_LE(d.write_capacity, 64u << 10);
}

TEST(FramedStreamOverAnyExecutor, EchoesThroughATypeErasedStrand)
{
    // The strand a link gets when its executor is not an io_context's.
    using socket_type = basic_plain_socket<any_strand>;
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket peer(ioc);
    peer.connect(acc.local_endpoint());
    auto stream = std::make_shared<basic_probe_stream<socket_type>>(
        acc.accept(any_strand(asio::any_io_executor(ioc.get_executor()))), no_keepalive(),
        8u << 20);
    auto closed = stream->closed_future();
    stream->echo(true);
    std::thread runner([&] { ioc.run(); });
    stream->begin();
    const auto w = wire_of("ping?");
    asio::write(peer, asio::buffer(w));
    std::vector<char> back(w.size());
    asio::read(peer, asio::buffer(back));
    EXPECT_EQ(back, w);
    stream->end();
    EXPECT_EQ(closed.wait_for(60s), std::future_status::ready);
    stream.reset();
    work.reset();
    runner.join();
}

} // namespace
