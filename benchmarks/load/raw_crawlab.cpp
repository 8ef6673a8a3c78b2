// raw-crawlab: Crawlab's round trip (one reply key per call), without mailroom. The caller
// takes a connection from a pool, LPUSHes the request onto `rpc:<node>`, waits for that
// reply, then BRPOPs `rpc:<node>:<id>` on the same connection, and gives the connection back
// once the reply came; the node BRPOPs `rpc:<node>` one at a time (--take-depth N: N
// pipelined) and LPUSHes each reply onto its key. So N calls in flight hold N connections,
// each blocked in Redis. One thread.

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <charconv>
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
                load_.on_reply(i, t0,
                               std::make_error_code(std::errc::resource_unavailable_try_again),
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

std::unique_ptr<echo_server> make_raw_crawlab_server(asio::io_context& ioc, const load_options& o)
{
    return std::make_unique<raw_crawlab_server>(ioc, o);
}

std::unique_ptr<caller> make_raw_crawlab_caller(asio::io_context& ioc, const load_options& o,
                                                echo_load& load)
{
    return std::make_unique<raw_crawlab_caller>(ioc, o, load);
}

} // namespace mailroom::load
