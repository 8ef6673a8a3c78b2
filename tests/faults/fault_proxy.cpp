#include "faults/fault_proxy.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <future>

namespace mailroom::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

/// One accepted connection and its upstream twin. Lives while an operation holds it; runs on
/// the proxy's one I/O thread only.
struct fault_proxy::link : std::enable_shared_from_this<link>
{
    link(fault_proxy& p, tcp::socket client)
        : proxy(p), down(std::move(client)), up(p.ioc_), to_server(p.ioc_), to_client(p.ioc_)
    {
        ++proxy.open_;
    }
    ~link() { --proxy.open_; }

    struct direction
    {
        explicit direction(asio::io_context& ioc) : timer(ioc) {}
        std::array<unsigned char, 64 * 1024> buf{};
        asio::steady_timer timer;
        // Where the frames are (see scan).
        unsigned prefix_got = 0;
        unsigned char prefix[4]{};
        std::uint64_t body_left = 0;
        std::uint64_t body_pos = 0;
        unsigned char first_body_byte = 0;
    };

    void start()
    {
        up.async_connect(proxy.upstream_, [self = shared_from_this()](const error_code& ec) {
            if (ec)
                return self->close(false);
            self->pump(false);
            self->pump(true);
        });
    }

    void pump(bool server_to_client)
    {
        auto& from = server_to_client ? up : down;
        auto& d = server_to_client ? to_client : to_server;
        from.async_read_some(asio::buffer(d.buf), [self = shared_from_this(), server_to_client](
                                                      const error_code& ec, std::size_t n) {
            if (ec)
                return self->close(false);
            self->on_data(server_to_client, n);
        });
    }

    void on_data(bool server_to_client, std::size_t n)
    {
        if (closed)
            return;
        if (truncated) // after a truncation: drop what the receiver still sends, until it closes
            return pump(server_to_client);
        const auto m = proxy.mode_.load();
        if (m == mode::drop)
            return pump(server_to_client);
        auto& d = server_to_client ? to_client : to_server;
        const std::size_t send = scan(server_to_client, d.buf.data(), n);
        auto forward = [self = shared_from_this(), server_to_client, send] {
            auto& to = server_to_client ? self->down : self->up;
            auto& d = server_to_client ? self->to_client : self->to_server;
            asio::async_write(to, asio::buffer(d.buf.data(), send),
                              [self, server_to_client](const error_code& ec, std::size_t) {
                                  if (ec)
                                      return self->close(false);
                                  if (self->truncated &&
                                      self->truncated_to_client == server_to_client)
                                      return self->finish_truncation(server_to_client);
                                  self->pump(server_to_client);
                              });
        };
        if (m == mode::delay) {
            d.timer.expires_after(std::chrono::milliseconds(proxy.delay_ms_.load()));
            d.timer.async_wait([self = shared_from_this(), forward](const error_code& ec) {
                if (ec || self->closed)
                    return self->close(false);
                forward();
            });
        } else {
            forward();
        }
    }

    /** Tracks frame boundaries in one direction and applies an armed one-shot fault to the
        next frame it targets: a response from the server (a fixarray of 5 whose kind is 3:
        0x95 0x03), a request from the client (a fixarray of 7 or 8, kind 1). Returns how
        many of the `n` bytes to forward. */
    std::size_t scan(bool server_to_client, unsigned char* p, std::size_t n)
    {
        auto& t = server_to_client ? to_client : to_server;
        auto& armed = proxy.shot_[server_to_client ? 0 : 1];
        for (std::size_t i = 0; i < n; ++i) {
            if (t.prefix_got < 4) {
                if (t.prefix_got == 1 && armed.load() == shot::length) {
                    auto s = shot::length;
                    if (armed.compare_exchange_strong(s, shot::none)) {
                        ++proxy.fired_;
                        ++p[i];
                    }
                }
                t.prefix[t.prefix_got++] = p[i];
                if (t.prefix_got == 4) {
                    t.body_left = (std::uint32_t(t.prefix[0]) << 24) |
                                  (std::uint32_t(t.prefix[1]) << 16) |
                                  (std::uint32_t(t.prefix[2]) << 8) | t.prefix[3];
                    t.body_pos = 0;
                    if (t.body_left == 0)
                        t.prefix_got = 0;
                }
                continue;
            }
            if (t.body_pos == 0)
                t.first_body_byte = p[i];
            const bool target =
                server_to_client
                    ? t.first_body_byte == 0x95 && p[i] == 0x03
                    : (t.first_body_byte == 0x97 || t.first_body_byte == 0x98) && p[i] == 0x01;
            if (t.body_pos == 1 && target) {
                auto s = armed.load();
                if ((s == shot::truncate || s == shot::corrupt) &&
                    armed.compare_exchange_strong(s, shot::none)) {
                    ++proxy.fired_;
                    if (s == shot::corrupt) {
                        p[i] = 0xc1;
                    } else {
                        truncated = true;
                        truncated_to_client = server_to_client;
                        return i + 1;
                    }
                }
            }
            ++t.body_pos;
            if (--t.body_left == 0)
                t.prefix_got = 0;
        }
        return n;
    }

    /// The receiving peer got part of a frame: a FIN to it, and the sender's side closed. The
    /// other direction's pump, still reading from the receiver, drops what it still sends
    /// (see on_data) until it closes its end.
    void finish_truncation(bool server_to_client)
    {
        error_code ignored;
        (server_to_client ? down : up).shutdown(tcp::socket::shutdown_send, ignored);
        (server_to_client ? up : down).close(ignored);
    }

    void close(bool rst)
    {
        if (closed)
            return;
        closed = true;
        error_code ignored;
        to_server.timer.cancel();
        to_client.timer.cancel();
        for (auto* s : {&down, &up}) {
            if (rst && s->is_open())
                s->set_option(asio::socket_base::linger(true, 0), ignored);
            s->close(ignored);
        }
    }

    fault_proxy& proxy;
    tcp::socket down; // the client's connection
    tcp::socket up;   // ours to the server
    direction to_server;
    direction to_client;
    bool closed = false;
    bool truncated = false;
    bool truncated_to_client = false; // which direction the truncated frame took
};

fault_proxy::fault_proxy(std::uint16_t upstream_port)
    : work_(ioc_.get_executor()), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
      upstream_(asio::ip::make_address("127.0.0.1"), upstream_port),
      port_(acceptor_.local_endpoint().port())
{
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
}

fault_proxy::~fault_proxy()
{
    std::promise<void> done;
    asio::post(ioc_, [this, &done] {
        error_code ignored;
        acceptor_.close(ignored);
        std::lock_guard lock(mu_);
        for (auto& w : links_)
            if (auto l = w.lock())
                l->close(false);
        done.set_value();
    });
    done.get_future().wait();
    work_.reset();
    thread_.join();
}

void fault_proxy::accept()
{
    acceptor_.async_accept([this](const error_code& ec, tcp::socket s) {
        if (ec)
            return; // closed
        auto l = std::make_shared<link>(*this, std::move(s));
        {
            std::lock_guard lock(mu_);
            std::erase_if(links_, [](const auto& w) { return w.expired(); });
            links_.push_back(l);
        }
        l->start();
        accept();
    });
}

void fault_proxy::pass()
{
    mode_ = mode::pass;
}

void fault_proxy::drop()
{
    mode_ = mode::drop;
}

void fault_proxy::delay(std::chrono::milliseconds d)
{
    delay_ms_ = d.count();
    mode_ = mode::delay;
}

void fault_proxy::truncate_next_response()
{
    shot_[0] = shot::truncate;
}

void fault_proxy::corrupt_next_response()
{
    shot_[0] = shot::corrupt;
}

void fault_proxy::corrupt_next_length()
{
    shot_[0] = shot::length;
}

void fault_proxy::truncate_next_request()
{
    shot_[1] = shot::truncate;
}

void fault_proxy::corrupt_next_request()
{
    shot_[1] = shot::corrupt;
}

std::size_t fault_proxy::reset()
{
    std::promise<std::size_t> done;
    asio::post(ioc_, [this, &done] {
        std::size_t n = 0;
        std::lock_guard lock(mu_);
        for (auto& w : links_)
            if (auto l = w.lock(); l && !l->closed) {
                l->close(true);
                ++n;
            }
        done.set_value(n);
    });
    return done.get_future().get();
}

} // namespace mailroom::test
