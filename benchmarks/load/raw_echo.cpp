// The raw mode: the same echo over a bare length-prefixed socket, as the ceiling mailroom's
// TCP transport is measured against.
//
// Same framing (4-byte big-endian length, then the body), same read size (64 KiB), and the
// same write discipline as mailroom's framed_stream: a frame sent while no write is in
// flight posts a write; frames sent meanwhile are appended to one buffer that leaves in the
// next write, so a burst costs one syscall. What it leaves out is everything mailroom does
// per call: no codec, no ids, no routing, no pending table, no timers, no strand when one
// thread runs the io_context. The client matches replies to calls in order (the server
// answers in order).

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "echo_server.hpp"

namespace mailroom::load {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::size_t read_size = 64u << 10;

/// One framed socket; `on_frame` gets each body, `send` queues one.
class raw_link : public std::enable_shared_from_this<raw_link> {
public:
    raw_link(tcp::socket socket, bool locking, std::size_t max_frame)
        : socket_(std::move(socket)), locking_(locking), max_frame_(max_frame)
    {
        boost::system::error_code ignored;
        socket_.set_option(tcp::no_delay(true), ignored);
    }
    virtual ~raw_link() = default;

    void start() { do_read(); }

    /// Thread-safe when `locking`.
    void send(std::span<const char> body)
    {
        const auto n = static_cast<std::uint32_t>(body.size());
        const char prefix[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                static_cast<char>(n >> 8), static_cast<char>(n)};
        bool start_write = false;
        {
            std::unique_lock lock(mu_, std::defer_lock);
            if (locking_)
                lock.lock();
            out_.insert(out_.end(), prefix, prefix + 4);
            out_.insert(out_.end(), body.begin(), body.end());
            start_write = !writing_;
            writing_ = true;
        }
        if (start_write)
            asio::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
    }

    void close()
    {
        asio::post(socket_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ignored;
            self->socket_.close(ignored);
        });
    }

protected:
    virtual void on_frame(std::span<const char> body) = 0;
    virtual void on_closed(const boost::system::error_code&) {}

private:
    void do_read()
    {
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (buf_.size() - end_ < read_size)
            buf_.resize(end_ + read_size);
        socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                                [self = shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n)
    {
        if (ec)
            return on_closed(ec);
        end_ += n;
        while (end_ - begin_ >= 4) {
            const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + begin_);
            const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                                    (std::size_t{p[2]} << 8) | std::size_t{p[3]};
            if (len > max_frame_) {
                boost::system::error_code ignored;
                socket_.close(ignored);
                return on_closed(asio::error::message_size);
            }
            if (end_ - begin_ < 4 + len)
                break;
            on_frame({buf_.data() + begin_ + 4, len});
            begin_ += 4 + len;
        }
        do_read();
    }

    void do_write()
    {
        {
            std::unique_lock lock(mu_, std::defer_lock);
            if (locking_)
                lock.lock();
            if (out_.empty()) {
                writing_ = false;
                return;
            }
            inflight_.swap(out_);
            out_.clear();
        }
        asio::async_write(socket_, asio::buffer(inflight_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t) {
                              if (ec) {
                                  boost::system::error_code ignored;
                                  self->socket_.close(ignored);
                                  return;
                              }
                              self->do_write();
                          });
    }

    tcp::socket socket_;
    const bool locking_;
    const std::size_t max_frame_;
    std::vector<char> buf_;
    std::size_t begin_ = 0, end_ = 0;
    std::mutex mu_;
    std::vector<char> out_;
    bool writing_ = false;
    std::vector<char> inflight_;
};

// ---- server ----

class raw_server;

class raw_server_link final : public raw_link {
public:
    raw_server_link(tcp::socket s, bool locking, std::size_t max_frame, raw_server& owner)
        : raw_link(std::move(s), locking, max_frame), owner_(owner)
    {
    }

private:
    void on_frame(std::span<const char> body) override { send(body); }
    void on_closed(const boost::system::error_code&) override;

    raw_server& owner_;
};

class raw_server final : public echo_server {
public:
    raw_server(asio::io_context& ioc, const load_options& o)
        : ioc_(ioc), acceptor_(ioc), locking_(o.threads > 1),
          max_frame_(std::max<std::size_t>(8u << 20, o.payload + 4096))
    {
        boost::system::error_code ec;
        const tcp::endpoint ep(asio::ip::make_address(o.host, ec), o.port);
        if (ec || acceptor_.open(ep.protocol(), ec) ||
            acceptor_.set_option(asio::socket_base::reuse_address(true), ec) ||
            acceptor_.bind(ep, ec) || acceptor_.listen(asio::socket_base::max_listen_connections, ec))
            throw std::runtime_error(
                fmt::format("cannot listen on {}:{}: {}", o.host, o.port, ec.message()));
        port_ = acceptor_.local_endpoint().port();
        do_accept();
    }

    ~raw_server() override { stop(); }

    std::uint16_t port() const override { return port_; }

    std::size_t connections() const override
    {
        std::lock_guard lock(mu_);
        return links_.size();
    }

    void stop() override
    {
        std::vector<std::shared_ptr<raw_link>> links;
        {
            std::lock_guard lock(mu_);
            stopped_ = true;
            for (auto& [p, w] : links_)
                if (auto l = w.lock())
                    links.push_back(std::move(l));
            links_.clear();
        }
        {
            std::lock_guard lock(mu_);
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        }
        for (auto& l : links)
            l->close();
    }

    void forget(raw_link* l)
    {
        std::lock_guard lock(mu_);
        links_.erase(l);
    }

private:
    void do_accept()
    {
        // Each link on its own strand when several threads run the io_context.
        auto ex = locking_ ? asio::any_io_executor(asio::make_strand(ioc_))
                           : asio::any_io_executor(ioc_.get_executor());
        std::lock_guard lock(mu_);
        if (stopped_)
            return;
        acceptor_.async_accept(ex, [this](const boost::system::error_code& ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted)
                return;
            if (!ec) {
                auto link = std::make_shared<raw_server_link>(std::move(s), locking_, max_frame_,
                                                              *this);
                {
                    std::lock_guard lock(mu_);
                    if (stopped_)
                        return;
                    links_.emplace(link.get(), link);
                }
                link->start();
            }
            do_accept();
        });
    }

    asio::io_context& ioc_;
    tcp::acceptor acceptor_;
    const bool locking_;
    const std::size_t max_frame_;
    std::uint16_t port_ = 0;
    mutable std::mutex mu_;
    bool stopped_ = false;
    std::unordered_map<raw_link*, std::weak_ptr<raw_link>> links_;
};

void raw_server_link::on_closed(const boost::system::error_code&) { owner_.forget(this); }

// ---- client ----

class raw_client_link final : public raw_link {
public:
    raw_client_link(tcp::socket s, bool locking, std::size_t max_frame, echo_load& load)
        : raw_link(std::move(s), locking, max_frame), locking_(locking), load_(load), ring_(64)
    {
    }

    void call(std::uint64_t i, load_clock::time_point t0, std::span<const char> body)
    {
        {
            std::unique_lock lock(ring_mu_, std::defer_lock);
            if (locking_)
                lock.lock();
            if (count_ == ring_.size())
                grow();
            ring_[(head_ + count_) & (ring_.size() - 1)] = {i, t0};
            ++count_;
        }
        send(body);
    }

    void shut() { closing_ = true; close(); }

private:
    using entry = std::pair<std::uint64_t, load_clock::time_point>;

    void grow()
    {
        std::vector<entry> next(ring_.size() * 2);
        for (std::size_t k = 0; k < count_; ++k)
            next[k] = ring_[(head_ + k) & (ring_.size() - 1)];
        ring_.swap(next);
        head_ = 0;
    }

    bool pop(entry& e)
    {
        std::unique_lock lock(ring_mu_, std::defer_lock);
        if (locking_)
            lock.lock();
        if (count_ == 0)
            return false;
        e = ring_[head_];
        head_ = (head_ + 1) & (ring_.size() - 1);
        --count_;
        return true;
    }

    void on_frame(std::span<const char> body) override
    {
        entry e;
        if (!pop(e))
            return; // an answer to nothing: ignored, like a late reply
        load_.on_reply(e.first, e.second, {}, std::string_view(body.data(), body.size()));
    }

    void on_closed(const boost::system::error_code& ec) override
    {
        if (closing_)
            return;
        // The server went away: every call waiting fails, as mailroom's would.
        entry e;
        while (pop(e))
            load_.on_reply(e.first, e.second,
                           std::make_error_code(std::errc::connection_reset),
                           ec.message());
    }

    const bool locking_;
    echo_load& load_;
    std::mutex ring_mu_;
    std::vector<entry> ring_; // power-of-two ring of calls in order
    std::size_t head_ = 0, count_ = 0;
    std::atomic<bool> closing_{false};
};

class raw_caller final : public caller {
public:
    raw_caller(asio::io_context& ioc, const load_options& o, std::uint16_t port, echo_load& load)
        : payload_(load.payload())
    {
        const bool locking = o.threads > 1;
        const auto max_frame = std::max<std::size_t>(8u << 20, o.payload + 4096);
        tcp::resolver resolver(ioc);
        auto endpoints = resolver.resolve(o.host, std::to_string(port));
        for (unsigned k = 0; k < o.connections; ++k) {
            auto ex = locking ? asio::any_io_executor(asio::make_strand(ioc))
                              : asio::any_io_executor(ioc.get_executor());
            tcp::socket s(ex);
            boost::system::error_code ec;
            asio::connect(s, endpoints, ec);
            if (ec)
                throw std::runtime_error(
                    fmt::format("cannot connect to {}:{}: {}", o.host, port, ec.message()));
            auto link = std::make_shared<raw_client_link>(std::move(s), locking, max_frame, load);
            link->start();
            links_.push_back(std::move(link));
        }
    }

    void call(std::uint64_t i, load_clock::time_point t0) override
    {
        links_[links_.size() == 1 ? 0 : i % links_.size()]->call(i, t0, payload_);
    }

    void close() override
    {
        for (auto& l : links_)
            l->shut();
    }

private:
    const std::string payload_;
    std::vector<std::shared_ptr<raw_client_link>> links_;
};

} // namespace

std::unique_ptr<echo_server> make_raw_server(asio::io_context& ioc, const load_options& o)
{
    return std::make_unique<raw_server>(ioc, o);
}

std::unique_ptr<caller> make_raw_caller(asio::io_context& ioc, const load_options& o,
                                        std::uint16_t port, echo_load& load)
{
    return std::make_unique<raw_caller>(ioc, o, port, load);
}

} // namespace mailroom::load
