// raw-redis: the round trip of mailroom's Redis-queue transport (docs/redis-transport.md)
// and nothing else, the ceiling of --transport redis. The caller LPUSHes requests onto the
// node's list (all requests of one burst in one LPUSH), the node BLMOVEs them one at a time
// into its processing list, LPUSHes each reply onto the caller's reply list and LREMs the
// request from the processing list, and the caller's reader takes the replies with BRPOP,
// then RPOP 256 until the list is empty. Same connections as the transport (the caller: one
// for commands, one blocking reader; the node: one blocking, one for commands). What it
// leaves out: the envelope's msgpack, the request and response messages, the PEXPIRE of the
// reply list per reply, deadlines, leases, and everything above the transport (station,
// dispatcher, ...). One thread.
//
// --take-depth N keeps N blocking takes pipelined on the node's connection instead of one:
// Redis runs them in order, each as soon as the list has an entry, so a burst of requests
// is taken in one round trip; the processing list keeps them as with one.

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "echo_server.hpp"
#include "resp_link.hpp"

namespace mailroom::load {
namespace {

namespace asio = boost::asio;

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

} // namespace

std::unique_ptr<echo_server> make_raw_redis_server(asio::io_context& ioc, const load_options& o)
{
    return std::make_unique<raw_redis_server>(ioc, o);
}

std::unique_ptr<caller> make_raw_redis_caller(asio::io_context& ioc, const load_options& o,
                                              echo_load& load)
{
    return std::make_unique<raw_redis_caller>(ioc, o, load);
}

} // namespace mailroom::load
