// The Redis ceilings: the round trips of the redis transports without mailroom.
//
// raw-redis is the round trip of mailroom's Redis-queue transport (docs/redis-transport.md)
// and nothing else: the caller LPUSHes requests onto the node's list (all requests of one
// burst in one LPUSH), the node BLMOVEs them one at a time into its processing list,
// LPUSHes each reply onto the caller's reply list and LREMs the request from the processing
// list, and the caller's reader takes the replies with BRPOP, then RPOP 256 until the list
// is empty. Same connections as the transport (the caller: one for commands, one blocking
// reader; the node: one blocking, one for commands). What it leaves out: the envelope's
// msgpack, the request and response messages, the PEXPIRE of the reply list per reply,
// deadlines, leases, and everything above the transport (station, dispatcher, ...).
//
// raw-crawlab is Crawlab's round trip (one reply key per call): the caller takes a
// connection from a pool, LPUSHes the request onto `rpc:<node>`, waits for that reply,
// then BRPOPs `rpc:<node>:<id>` on the same connection, and gives the connection back once
// the reply came; the node BRPOPs `rpc:<node>` one at a time and LPUSHes each reply onto
// its key. So N calls in flight hold N connections, each blocked in Redis.
//
// --take-depth N keeps N blocking takes pipelined on the node's connection instead of one:
// Redis runs them in order, each as soon as the list has an entry, so a burst of requests
// is taken in one round trip; the processing list keeps them as with one.
//
// Both: hiredis's reader parses replies, commands are written as RESP by hand, Asio moves
// the bytes on one thread, and commands queued while a write is in flight leave together in
// the next write (as the raw socket mode does). A request is `[reply list length: 1 byte]
// [reply list][call id: 8 bytes][payload]` (raw-crawlab: the id and the payload); a reply is
// the id and the payload.

#include <mailroom/redis/url.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "echo_server.hpp"

namespace mailroom::load {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

/// One RESP connection: commands in, replies out in order. Single-threaded.
class resp_link : public std::enable_shared_from_this<resp_link> {
public:
    /// Called with each reply, in command order.
    using reply_fn = std::function<void(const redisReply&)>;
    /// Called once if the connection fails (not after `close`).
    using error_fn = std::function<void(const std::string&)>;

    /// Connects at once (blocking) and sends AUTH/SELECT as the URL asks.
    resp_link(asio::io_context& ioc, const redis::url& where)
        : socket_(ioc), reader_(redisReaderCreate())
    {
        tcp::resolver resolver(ioc);
        boost::system::error_code ec;
        auto endpoints = resolver.resolve(where.host, std::to_string(where.port), ec);
        if (!ec)
            asio::connect(socket_, endpoints, ec);
        if (ec)
            throw std::runtime_error(fmt::format("cannot connect to Redis at {}: {}",
                                                 redis::to_string(where), ec.message()));
        socket_.set_option(tcp::no_delay(true), ec);
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
            asio::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
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
        asio::async_write(socket_, asio::buffer(writing_buf_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (ec)
                                  return self->fail(ec.message());
                              self->do_write();
                          });
    }

    void do_read()
    {
        socket_.async_read_some(
            asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec,
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

    tcp::socket socket_;
    redisReader* reader_;
    reply_fn on_reply_;
    error_fn on_error_;
    std::string out_, writing_buf_;
    bool writing_ = false;
    bool closed_ = false;
    std::array<char, 64 * 1024> buf_{};
};

redis::url url_of(const load_options& o)
{
    auto u = redis::parse_url(o.redis_url);
    if (!u)
        throw std::runtime_error(fmt::format("bad Redis URL \"{}\"", o.redis_url));
    return *u;
}

std::string_view as_view(const redisReply& r) { return {r.str, r.len}; }

void put_id(std::string& out, std::uint64_t id)
{
    char b[8];
    std::memcpy(b, &id, 8);
    out.append(b, 8);
}

std::uint64_t get_id(std::string_view in)
{
    std::uint64_t id = 0;
    std::memcpy(&id, in.data(), 8);
    return id;
}

/// A fresh name, so that runs sharing one Redis (--redis-url) never see each other's lists.
std::string random_tag()
{
    std::random_device rd;
    return fmt::format("{:08x}{:08x}", rd(), rd());
}

/// Every call fails with this error once a link is lost.
std::error_code lost_error() { return std::make_error_code(std::errc::connection_reset); }

// ---- raw-redis: mailroom's queue round trip ----

/// The node's keys, as the transport names them for node "echo-1".
constexpr std::string_view raw_queue = "mailroom:{echo-1}:q";

class raw_redis_server final : public echo_server {
public:
    raw_redis_server(asio::io_context& ioc, const load_options& o)
        : processing_(fmt::format("mailroom:{{echo-1}}:p:{}", random_tag()))
    {
        const auto where = url_of(o);
        blk_ = std::make_shared<resp_link>(ioc, where);
        cmd_ = std::make_shared<resp_link>(ioc, where);
        auto on_error = [this](const std::string&) { stop(); };
        cmd_->start([](const redisReply&) {}, on_error);
        blk_->start([this](const redisReply& r) { on_taken(r); }, on_error);
        // Each entry taken issues the next take: `take_depth` stay outstanding.
        for (unsigned k = 0; k < o.take_depth; ++k)
            take();
    }

    ~raw_redis_server() override { stop(); }

    std::uint16_t port() const override { return 0; }
    std::size_t connections() const override { return stopped_ ? 0 : 1; }

    void stop() override
    {
        stopped_ = true;
        blk_->close();
        cmd_->close();
    }

private:
    void take()
    {
        blk_->command({"BLMOVE", raw_queue, processing_, "RIGHT", "LEFT", "0"});
    }

    void on_taken(const redisReply& r)
    {
        if (r.type == REDIS_REPLY_STRING && r.len >= 1) {
            const std::string_view entry = as_view(r);
            const std::size_t n = static_cast<unsigned char>(entry[0]);
            if (entry.size() >= 1 + n + 8) {
                const auto reply_list = entry.substr(1, n);
                const auto reply = entry.substr(1 + n); // the id and the payload
                cmd_->command({"LPUSH", reply_list, reply});
                cmd_->command({"LREM", processing_, "1", entry});
            }
        }
        take();
    }

    std::shared_ptr<resp_link> blk_, cmd_;
    const std::string processing_;
    bool stopped_ = false;
};

class raw_redis_caller final : public caller {
public:
    raw_redis_caller(asio::io_context& ioc, const load_options& o, echo_load& load)
        : load_(load), payload_(load.payload()),
          reply_list_(fmt::format("mailroom:{{{}}}:r", random_tag())),
          executor_(ioc.get_executor()), ring_(64)
    {
        const auto where = url_of(o);
        cmd_ = std::make_shared<resp_link>(ioc, where);
        reader_ = std::make_shared<resp_link>(ioc, where);
        auto on_error = [this](const std::string& why) { fail_all(why); };
        cmd_->start([](const redisReply&) {}, on_error);
        reader_->start([this](const redisReply& r) { on_read(r); }, on_error);
        wait_for_replies();
    }

    void call(std::uint64_t i, load_clock::time_point t0) override
    {
        if (count_ == ring_.size())
            grow();
        ring_[(head_ + count_) & (ring_.size() - 1)] = {i, t0};
        ++count_;
        std::string entry;
        entry.reserve(1 + reply_list_.size() + 8 + payload_.size());
        entry.push_back(static_cast<char>(reply_list_.size()));
        entry += reply_list_;
        put_id(entry, i);
        entry += payload_;
        batch_.push_back(std::move(entry));
        if (batch_.size() == 1)
            // Everything issued until the I/O thread is free again leaves in one LPUSH.
            asio::post(executor_, [this] { flush(); });
    }

    void close() override
    {
        closing_ = true;
        cmd_->close();
        reader_->close();
    }

private:
    using entry = std::pair<std::uint64_t, load_clock::time_point>;

    void flush()
    {
        args_.clear();
        args_.push_back("LPUSH");
        args_.push_back(raw_queue);
        for (auto& e : batch_)
            args_.push_back(e);
        cmd_->command(args_);
        batch_.clear();
    }

    void wait_for_replies()
    {
        brpop_ = true;
        reader_->command({"BRPOP", reply_list_, "0"});
    }

    void drain()
    {
        brpop_ = false;
        reader_->command({"RPOP", reply_list_, "256"});
    }

    void on_read(const redisReply& r)
    {
        if (r.type == REDIS_REPLY_NIL)
            return wait_for_replies(); // RPOP found the list empty
        if (r.type != REDIS_REPLY_ARRAY)
            return;
        if (brpop_) {
            // BRPOP: [key, value]
            if (r.elements == 2)
                deliver(*r.element[1]);
        } else {
            for (std::size_t k = 0; k < r.elements; ++k)
                deliver(*r.element[k]);
        }
        if (closing_)
            return;
        drain();
    }

    void deliver(const redisReply& value)
    {
        const auto v = as_view(value);
        if (v.size() < 8 || count_ == 0)
            return;
        const entry e = ring_[head_];
        head_ = (head_ + 1) & (ring_.size() - 1);
        --count_;
        if (get_id(v) != e.first)
            return load_.on_reply(e.first, e.second,
                                  std::make_error_code(std::errc::bad_message),
                                  "a reply out of order");
        load_.on_reply(e.first, e.second, {}, v.substr(8));
    }

    void grow()
    {
        std::vector<entry> next(ring_.size() * 2);
        for (std::size_t k = 0; k < count_; ++k)
            next[k] = ring_[(head_ + k) & (ring_.size() - 1)];
        ring_.swap(next);
        head_ = 0;
    }

    void fail_all(const std::string& why)
    {
        if (closing_)
            return;
        while (count_ > 0) {
            const entry e = ring_[head_];
            head_ = (head_ + 1) & (ring_.size() - 1);
            --count_;
            load_.on_reply(e.first, e.second, lost_error(), why);
        }
    }

    echo_load& load_;
    const std::string payload_;
    const std::string reply_list_;
    asio::any_io_executor executor_;
    std::shared_ptr<resp_link> cmd_, reader_;
    std::vector<std::string> batch_;
    std::vector<std::string_view> args_;
    std::vector<entry> ring_; // power-of-two ring of the calls, in the order they were issued
    std::size_t head_ = 0, count_ = 0;
    bool brpop_ = true; // the reader's outstanding command is BRPOP (else RPOP)
    bool closing_ = false;
};

// ---- raw-crawlab: one reply key per call ----

constexpr std::string_view crawlab_queue = "rpc:echo-1";

/// `rpc:<node>:<id>`, the key of one call's reply.
void reply_key(std::string& out, std::uint64_t id)
{
    char b[24];
    out.assign(crawlab_queue);
    out.push_back(':');
    out.append(b, std::to_chars(b, b + sizeof b, id).ptr);
}

class raw_crawlab_server final : public echo_server {
public:
    raw_crawlab_server(asio::io_context& ioc, const load_options& o)
    {
        const auto where = url_of(o);
        blk_ = std::make_shared<resp_link>(ioc, where);
        cmd_ = std::make_shared<resp_link>(ioc, where);
        auto on_error = [this](const std::string&) { stop(); };
        cmd_->start([](const redisReply&) {}, on_error);
        blk_->start([this](const redisReply& r) { on_taken(r); }, on_error);
        // Each entry taken issues the next take: `take_depth` stay outstanding.
        for (unsigned k = 0; k < o.take_depth; ++k)
            take();
    }

    ~raw_crawlab_server() override { stop(); }

    std::uint16_t port() const override { return 0; }
    std::size_t connections() const override { return stopped_ ? 0 : 1; }

    void stop() override
    {
        stopped_ = true;
        blk_->close();
        cmd_->close();
    }

private:
    void take() { blk_->command({"BRPOP", crawlab_queue, "0"}); }

    void on_taken(const redisReply& r)
    {
        if (r.type == REDIS_REPLY_ARRAY && r.elements == 2) {
            const auto message = as_view(*r.element[1]);
            if (message.size() >= 8) {
                reply_key(key_, get_id(message));
                cmd_->command({"LPUSH", key_, message});
            }
        }
        take();
    }

    std::shared_ptr<resp_link> blk_, cmd_;
    std::string key_;
    bool stopped_ = false;
};

class raw_crawlab_caller final : public caller {
public:
    raw_crawlab_caller(asio::io_context& ioc, const load_options& o, echo_load& load)
        : load_(load), payload_(load.payload()), executor_(ioc.get_executor())
    {
        const auto where = url_of(o);
        // One connection per call in flight, as a pool grows to the calls that wait at once.
        for (std::uint64_t k = 0; k < o.inflight; ++k) {
            auto s = std::make_unique<slot>();
            s->link = std::make_shared<resp_link>(ioc, where);
            slot* p = s.get();
            s->link->start([this, p](const redisReply& r) { on_reply(*p, r); },
                           [this, p](const std::string& why) { on_error(*p, why); });
            idle_.push_back(p);
            slots_.push_back(std::move(s));
        }
    }

    void call(std::uint64_t i, load_clock::time_point t0) override
    {
        if (idle_.empty()) // never: the pool holds one connection per call in flight
            return asio::post(executor_, [this, i, t0] {
                load_.on_reply(i, t0, std::make_error_code(std::errc::resource_unavailable_try_again),
                               "the connection pool is empty");
            });
        slot& s = *idle_.back();
        idle_.pop_back();
        s.busy = true;
        s.call = i;
        s.t0 = t0;
        s.pushed = false;
        message_.clear();
        put_id(message_, i);
        message_ += payload_;
        s.link->command({"LPUSH", crawlab_queue, message_});
    }

    void close() override
    {
        closing_ = true;
        for (auto& s : slots_)
            s->link->close();
    }

private:
    struct slot {
        std::shared_ptr<resp_link> link;
        bool busy = false;
        bool pushed = false; // the LPUSH was answered: the BRPOP is outstanding
        std::uint64_t call = 0;
        load_clock::time_point t0{};
        std::string key;
    };

    void on_reply(slot& s, const redisReply& r)
    {
        if (!s.busy)
            return; // AUTH/SELECT
        if (!s.pushed) {
            if (r.type != REDIS_REPLY_INTEGER)
                return;
            // Crawlab waits for the LPUSH, then blocks on the call's own reply key.
            s.pushed = true;
            reply_key(s.key, s.call);
            s.link->command({"BRPOP", s.key, "0"});
            return;
        }
        if (r.type != REDIS_REPLY_ARRAY || r.elements != 2)
            return;
        const auto v = as_view(*r.element[1]);
        s.busy = false;
        idle_.push_back(&s);
        if (v.size() < 8 || get_id(v) != s.call)
            return load_.on_reply(s.call, s.t0, std::make_error_code(std::errc::bad_message),
                                  "a reply to another call");
        load_.on_reply(s.call, s.t0, {}, v.substr(8));
    }

    void on_error(slot& s, const std::string& why)
    {
        if (closing_ || !s.busy)
            return;
        s.busy = false;
        load_.on_reply(s.call, s.t0, lost_error(), why);
    }

    echo_load& load_;
    const std::string payload_;
    asio::any_io_executor executor_;
    std::vector<std::unique_ptr<slot>> slots_;
    std::vector<slot*> idle_;
    std::string message_;
    bool closing_ = false;
};

} // namespace

std::unique_ptr<echo_server> make_raw_redis_server(asio::io_context& ioc, const load_options& o)
{
    if (o.transport == "raw-crawlab")
        return std::make_unique<raw_crawlab_server>(ioc, o);
    return std::make_unique<raw_redis_server>(ioc, o);
}

std::unique_ptr<caller> make_raw_redis_caller(asio::io_context& ioc, const load_options& o,
                                              echo_load& load)
{
    if (o.transport == "raw-crawlab")
        return std::make_unique<raw_crawlab_caller>(ioc, o, load);
    return std::make_unique<raw_redis_caller>(ioc, o, load);
}

} // namespace mailroom::load
