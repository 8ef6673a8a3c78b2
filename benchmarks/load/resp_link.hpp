#pragma once

// What the Redis ceilings (raw_redis.cpp, raw_crawlab.cpp) share: one RESP connection over
// Asio with hiredis's reply parser, and the request format. Commands are written as RESP by
// hand; commands queued while a write is in flight leave together in the next write (as the
// raw socket mode does). A request is `[reply list length: 1 byte][reply list][call id: 8
// bytes][payload]` (raw-crawlab: the id and the payload); a reply is the id and the payload.

#include <mailroom/redis/url.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "options.hpp"

namespace mailroom::load {

/// One RESP connection: commands in, replies out in order. Single-threaded.
class resp_link : public std::enable_shared_from_this<resp_link> {
public:
    /// Called with each reply, in command order.
    using reply_fn = std::function<void(const redisReply&)>;
    /// Called once if the connection fails (not after `close`).
    using error_fn = std::function<void(const std::string&)>;

    /// Connects at once (blocking) and sends AUTH/SELECT as the URL asks.
    resp_link(boost::asio::io_context& ioc, const redis::url& where)
        : socket_(ioc), reader_(redisReaderCreate())
    {
        boost::asio::ip::tcp::resolver resolver(ioc);
        boost::system::error_code ec;
        auto endpoints = resolver.resolve(where.host, std::to_string(where.port), ec);
        if (!ec)
            boost::asio::connect(socket_, endpoints, ec);
        if (ec)
            throw std::runtime_error(fmt::format("cannot connect to Redis at {}: {}",
                                                 redis::to_string(where), ec.message()));
        socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
        if (!where.password.empty())
            command({"AUTH", where.password});
        if (where.db != 0)
            command({"SELECT", std::to_string(where.db)});
    }

    ~resp_link() { redisReaderFree(reader_); }

    resp_link(const resp_link&) = delete;
    resp_link& operator=(const resp_link&) = delete;

    void start(reply_fn on_reply, error_fn on_error)
    {
        on_reply_ = std::move(on_reply);
        on_error_ = std::move(on_error);
        do_read();
    }

    void command(std::initializer_list<std::string_view> args)
    {
        command(std::span<const std::string_view>(args.begin(), args.size()));
    }

    /// Queues one command; it leaves with the others queued before the next write.
    void command(std::span<const std::string_view> args)
    {
        if (closed_)
            return;
        append_header('*', args.size());
        for (auto a : args) {
            append_header('$', a.size());
            out_.append(a);
            out_.append("\r\n", 2);
        }
        if (!writing_) {
            writing_ = true;
            boost::asio::post(socket_.get_executor(),
                              [self = shared_from_this()] { self->do_write(); });
        }
    }

    /// Closes the socket; no callback runs after this.
    void close()
    {
        closed_ = true;
        on_reply_ = nullptr;
        on_error_ = nullptr;
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

private:
    /// "*N\r\n" or "$N\r\n".
    void append_header(char kind, std::size_t n)
    {
        char b[24];
        b[0] = kind;
        auto end = std::to_chars(b + 1, b + sizeof b - 2, n).ptr;
        *end++ = '\r';
        *end++ = '\n';
        out_.append(b, end);
    }

    void do_write()
    {
        if (closed_ || out_.empty()) {
            writing_ = false;
            return;
        }
        writing_buf_.swap(out_);
        out_.clear();
        boost::asio::async_write(socket_, boost::asio::buffer(writing_buf_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (ec)
                                  return self->fail(ec.message());
                              self->do_write();
                          });
    }

    void do_read()
    {
        socket_.async_read_some(
            boost::asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec,
                                                            std::size_t n) {
                if (self->closed_)
                    return;
                if (ec)
                    return self->fail(ec.message());
                if (redisReaderFeed(self->reader_, self->buf_.data(), n) != REDIS_OK)
                    return self->fail("protocol error");
                for (;;) {
                    void* r = nullptr;
                    if (redisReaderGetReply(self->reader_, &r) != REDIS_OK)
                        return self->fail("protocol error");
                    if (!r)
                        break;
                    std::unique_ptr<redisReply, void (*)(void*)> reply(
                        static_cast<redisReply*>(r), freeReplyObject);
                    if (reply->type == REDIS_REPLY_ERROR)
                        return self->fail(std::string(reply->str, reply->len));
                    self->on_reply_(*reply);
                    if (self->closed_)
                        return;
                }
                self->do_read();
            });
    }

    void fail(const std::string& why)
    {
        if (closed_)
            return;
        auto h = std::move(on_error_);
        close();
        if (h)
            h(why);
    }

    boost::asio::ip::tcp::socket socket_;
    redisReader* reader_;
    reply_fn on_reply_;
    error_fn on_error_;
    std::string out_, writing_buf_;
    bool writing_ = false;
    bool closed_ = false;
    std::array<char, 64 * 1024> buf_{};
};

/// The URL in `o.redis_url`; throws std::runtime_error if malformed.
inline redis::url url_of(const load_options& o)
{
    auto u = redis::parse_url(o.redis_url);
    if (!u)
        throw std::runtime_error(fmt::format("bad Redis URL \"{}\"", o.redis_url));
    return *u;
}

inline std::string_view as_view(const redisReply& r) { return {r.str, r.len}; }

inline void put_id(std::string& out, std::uint64_t id)
{
    char b[8];
    std::memcpy(b, &id, 8);
    out.append(b, 8);
}

inline std::uint64_t get_id(std::string_view in)
{
    std::uint64_t id = 0;
    std::memcpy(&id, in.data(), 8);
    return id;
}

/// A fresh name, so that runs sharing one Redis (--redis-url) never see each other's lists.
inline std::string random_tag()
{
    std::random_device rd;
    return fmt::format("{:08x}{:08x}", rd(), rd());
}

/// Every call fails with this error once a link is lost.
inline std::error_code lost_error() { return std::make_error_code(std::errc::connection_reset); }

} // namespace mailroom::load
