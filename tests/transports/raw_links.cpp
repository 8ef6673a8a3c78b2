#include "transports/raw_links.hpp"

#include "support/wait.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace mailroom::test {
namespace {

namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::asio::use_future;
using tcp = boost::asio::ip::tcp;

std::string option(const server_info& s, std::string_view key, std::string fallback = {})
{
    auto it = s.options.find(key);
    return it == s.options.end() ? fallback : it->second;
}

/// Writes, ignoring errors: the server may already have closed the link, which is what
/// the tests then check.
template <class Stream>
void write_all(Stream& s, std::span<const char> bytes)
{
    auto f = boost::asio::async_write(s, boost::asio::buffer(bytes.data(), bytes.size()), use_future);
    try {
        wait(f);
    } catch (const boost::system::system_error&) {
    }
}

std::vector<char> prefixed(std::uint32_t n, std::span<const char> body)
{
    std::vector<char> out(4 + body.size());
    out[0] = static_cast<char>(n >> 24);
    out[1] = static_cast<char>(n >> 16);
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n);
    std::copy(body.begin(), body.end(), out.begin() + 4);
    return out;
}

/// Length-prefixed frames over a byte stream (TCP, TLS, Unix socket).
template <class Stream>
class stream_raw_link final : public raw_link {
public:
    template <class... Args>
    explicit stream_raw_link(Args&&... args) : s_(std::forward<Args>(args)...)
    {
    }

    Stream& stream() { return s_; }

    void send_body(std::span<const char> body) override
    {
        write_all(s_, prefixed(static_cast<std::uint32_t>(body.size()), body));
    }

    void send_oversized(std::size_t max_frame_size) override
    {
        const char x[] = {'x'};
        write_all(s_, prefixed(static_cast<std::uint32_t>(max_frame_size + 1), x));
    }

    int garbage_cases() const override { return 2; }

    void send_garbage(int i) override
    {
        if (i == 0) { // an HTTP request: its first bytes read as a huge length prefix
            std::string_view get = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
            write_all(s_, std::span<const char>(get.data(), get.size()));
        } else { // an empty frame: no message is empty
            write_all(s_, prefixed(0, {}));
        }
    }

    std::optional<std::vector<char>> receive() override
    {
        try {
            char hdr[4];
            auto f = boost::asio::async_read(s_, boost::asio::buffer(hdr), use_future);
            wait(f);
            std::vector<char> body((std::uint32_t(std::uint8_t(hdr[0])) << 24) |
                                   (std::uint32_t(std::uint8_t(hdr[1])) << 16) |
                                   (std::uint32_t(std::uint8_t(hdr[2])) << 8) | std::uint8_t(hdr[3]));
            auto g = boost::asio::async_read(s_, boost::asio::buffer(body), use_future);
            wait(g);
            return body;
        } catch (const boost::system::system_error&) {
            return std::nullopt;
        }
    }

private:
    Stream s_;
};

/// A client context that trusts anything: raw links test the server, not its certificate.
std::shared_ptr<ssl::context> trusting_context()
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
}

tcp::endpoint endpoint_of(const server_info& at)
{
    return {boost::asio::ip::make_address(at.host), at.port};
}

/// A raw WebSocket client over `Next` (a TCP socket, or TLS over one).
template <class Next>
class ws_raw_link final : public raw_link {
public:
    template <class... Args>
    ws_raw_link(const server_info& at, Args&&... args) : ws_(std::forward<Args>(args)...)
    {
        auto& sock = beast::get_lowest_layer(ws_);
        sock.connect(endpoint_of(at));
        if constexpr (!std::is_same_v<Next, tcp::socket>) {
            auto f = ws_.next_layer().async_handshake(ssl::stream_base::client, use_future);
            wait(f);
        }
        const auto token = option(at, "ws_token");
        ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
            if (!token.empty())
                req.set(beast::http::field::authorization, "Bearer " + token);
        }));
        auto f = ws_.async_handshake(at.host, option(at, "ws_path", "/"), use_future);
        wait(f);
        ws_.binary(true);
    }

    void send_body(std::span<const char> body) override
    {
        auto f = ws_.async_write(boost::asio::buffer(body.data(), body.size()), use_future);
        try {
            wait(f);
        } catch (const boost::system::system_error&) {
        }
    }

    void send_oversized(std::size_t max_frame_size) override
    {
        // A masked binary frame header announcing max+1 bytes (64-bit length), and a little
        // of its payload: a server must refuse it from the header alone.
        const std::uint64_t n = max_frame_size + 1;
        std::vector<char> raw{'\x82', '\xff'};
        for (int shift = 56; shift >= 0; shift -= 8)
            raw.push_back(static_cast<char>(n >> shift));
        raw.insert(raw.end(), {'\x01', '\x02', '\x03', '\x04', 'x', 'y', 'z'});
        write_all(ws_.next_layer(), raw);
    }

    int garbage_cases() const override { return 3; }

    void send_garbage(int i) override
    {
        if (i == 0) { // a text message: mailroom frames travel in binary messages
            ws_.text(true);
            const std::string_view text = "hello";
            auto f = ws_.async_write(boost::asio::buffer(text.data(), text.size()), use_future);
            try {
                wait(f);
            } catch (const boost::system::system_error&) {
            }
            ws_.binary(true);
        } else if (i == 1) { // an unmasked client frame violates RFC 6455
            write_all(ws_.next_layer(), std::vector<char>{'\x82', '\x02', '\x91', '\xc0'});
        } else { // a reserved opcode
            write_all(ws_.next_layer(),
                      std::vector<char>{'\x83', '\x80', '\x01', '\x02', '\x03', '\x04'});
        }
    }

    std::optional<std::vector<char>> receive() override
    {
        try {
            beast::flat_buffer buf;
            auto f = ws_.async_read(buf, use_future);
            wait(f);
            auto d = buf.cdata();
            const char* p = static_cast<const char*>(d.data());
            return std::vector<char>(p, p + d.size());
        } catch (const boost::system::system_error&) {
            return std::nullopt;
        }
    }

private:
    websocket::stream<Next> ws_;
};

} // namespace

std::unique_ptr<raw_link> make_tcp_raw_link(asio::io_context& ioc, const server_info& at, bool tls)
{
    if (!tls) {
        auto link = std::make_unique<stream_raw_link<tcp::socket>>(ioc);
        link->stream().connect(endpoint_of(at));
        return link;
    }
    static const auto ctx = trusting_context();
    auto link = std::make_unique<stream_raw_link<ssl::stream<tcp::socket>>>(ioc, *ctx);
    link->stream().next_layer().connect(endpoint_of(at));
    auto f = link->stream().async_handshake(ssl::stream_base::client, use_future);
    wait(f);
    return link;
}

std::unique_ptr<raw_link> make_unix_raw_link(asio::io_context& ioc, const std::string& path)
{
    using protocol = boost::asio::local::stream_protocol;
    auto link = std::make_unique<stream_raw_link<protocol::socket>>(ioc);
    link->stream().connect(protocol::endpoint(path));
    return link;
}

std::unique_ptr<raw_link> make_ws_raw_link(asio::io_context& ioc, const server_info& at, bool tls)
{
    if (!tls)
        return std::make_unique<ws_raw_link<tcp::socket>>(at, ioc);
    static const auto ctx = trusting_context();
    return std::make_unique<ws_raw_link<ssl::stream<tcp::socket>>>(at, ioc, *ctx);
}

} // namespace mailroom::test
