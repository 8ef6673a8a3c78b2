#pragma once

// Crawlab mode, client half: LPUSH a Crawlab message onto `<prefix>:<node>` and take the reply
// from `<prefix>:<node>:<id>` (docs/redis-transport.md, "Crawlab mode").
//
// Every mail box of one factory shares, per Redis, one command connection and one reader
// connection. The reader runs one `BRPOP k1 ... kn 0` over the reply keys of every call in
// flight; a call whose key is not in the running BRPOP wakes it with `CLIENT UNBLOCK` (one at
// a time: keys added meanwhile are taken by the BRPOP issued next), and the BRPOP is issued
// again with the current keys; after a reply, pipelined RPOPs take every reply that waits in
// one round trip. So two connections serve any number of calls, up to
// `crawlab_options::max_in_flight`.
//
// crawlab_endpoint.cpp runs the connections and the reader; crawlab_mailbox.cpp makes the
// endpoints and mail boxes.

#include "crawlab.hpp"

#include <mailroom/error.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/crawlab_message.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace mailroom::redis::detail {

using steady_clock = std::chrono::steady_clock;

class crawlab_mailbox;

/// One call as it leaves a mail box: the message to push, or why it is refused.
struct crawlab_call {
    std::shared_ptr<crawlab_mailbox> box;
    std::uint64_t id = 0; // the station's request id; 0: a notify
    std::string list;     // <prefix>:<node>
    std::string key;      // <prefix>:<node>:<message id>
    std::string text;     // the Crawlab message
    steady_clock::time_point deadline{};
    std::error_code refused{};
    std::string why{};
};

/// One Redis as the Crawlab-mode callers of a factory see it. Everything runs on `strand_`.
class crawlab_endpoint : public std::enable_shared_from_this<crawlab_endpoint> {
public:
    crawlab_endpoint(asio::any_io_executor ex, url where, const client_options& o)
        : strand_(asio::make_strand(ex)), expiry_(strand_), where_(std::move(where)), options_(o),
          backoff_(o.min_backoff)
    {
    }

    void ensure_up(mailroom::detail::unique_function<void(std::error_code)> h)
    {
        asio::post(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
            switch (self->state_) {
            case state::up: h({}); return;
            case state::connecting: self->waiters_.push_back(std::move(h)); return;
            case state::down:
                if (steady_clock::now() < self->next_attempt_)
                    return h(make_error_code(error::unreachable));
                self->waiters_.push_back(std::move(h));
                self->connect();
            }
        });
    }

    void attach(std::shared_ptr<crawlab_mailbox> m);
    void detach(const crawlab_mailbox* m);

    void retain()
    {
        asio::post(strand_, [self = shared_from_this()] { ++self->users_; });
    }

    /// Without mail boxes the connections close: nothing keeps the executor busy.
    void release()
    {
        asio::post(strand_, [self = shared_from_this()] {
            if (--self->users_ != 0 || self->state_ == state::down)
                return;
            self->lose();
            self->next_attempt_ = {};
            self->backoff_ = self->options_.min_backoff;
        });
    }

    void submit(crawlab_call o)
    {
        asio::post(strand_, [self = shared_from_this(), o = std::move(o)]() mutable {
            self->submit_on_strand(std::move(o));
        });
    }

private:
    enum class state { down, connecting, up };

    struct waiting {
        std::shared_ptr<crawlab_mailbox> box;
        std::uint64_t id;
        steady_clock::time_point deadline;
    };

    void submit_on_strand(crawlab_call o);
    void connect();
    void connected(std::error_code ec);
    void lose();
    void flush();
    void read();
    void drain();
    void wake();
    void arrived(const std::string& key, const std::string& value);
    void arm(steady_clock::time_point deadline);
    void expire();

    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer expiry_;
    url where_;
    client_options options_;
    std::chrono::milliseconds backoff_;
    steady_clock::time_point next_attempt_{};
    state state_ = state::down;
    std::shared_ptr<connection> cmd_, reader_;
    std::string reader_id_; // CLIENT ID of the reader, for CLIENT UNBLOCK
    std::vector<mailroom::detail::unique_function<void(std::error_code)>> waiters_;
    std::unordered_set<std::shared_ptr<crawlab_mailbox>> boxes_;
    int users_ = 0;
    // The calls waiting for a reply, by reply key.
    std::unordered_map<std::string, waiting> pending_;
    std::uint64_t keys_version_ = 0; // bumped when a key is added
    bool reading_ = false;           // a BRPOP or a drain is outstanding
    bool blocking_ = false;          // a BRPOP is outstanding
    bool drain_next_ = false;        // the last read found a reply
    std::uint64_t read_version_ = 0; // keys_version_ when it was issued
    bool waking_ = false;            // a CLIENT UNBLOCK is outstanding
    steady_clock::time_point armed_for_ = steady_clock::time_point::max();
    // LPUSH batches by request list, flushed once per burst.
    std::map<std::string, std::vector<std::string>> batches_;
    std::map<std::string, std::vector<std::string>> batch_keys_;
    bool flush_posted_ = false;
};

class crawlab_mailbox final : public mailbox,
                              public std::enable_shared_from_this<crawlab_mailbox> {
public:
    crawlab_mailbox(const mailbox_context& ctx, std::shared_ptr<crawlab_endpoint> ep, std::string prefix,
                    const crawlab_options& o)
        : ep_(std::move(ep)), node_(node_of(ctx.server)), prefix_(std::move(prefix)),
          list_(crawlab::request_list(prefix_, node_)), service_(o.service),
          reply_wait_(o.reply_wait), handler_(ctx.handler), protocol_(ctx.protocol),
          max_frame_size_(ctx.max_frame_size)
    {
        ep_->retain();
    }

    ~crawlab_mailbox() override
    {
        if (!released_.exchange(true))
            ep_->release();
    }

    void async_connect(connect_handler handler) override
    {
        ep_->ensure_up([self = shared_from_this(), h = std::move(handler)](std::error_code ec) mutable {
            if (!ec && !self->closed_)
                self->ep_->attach(self);
            h(ec);
        });
    }

    void send(frame f) override
    {
        if (closed_)
            return;
        msgpack::zone zone;
        protocol::message m;
        if (protocol_->decode(f.body(), zone, m) ||
            (m.kind != protocol::message_kind::request && m.kind != protocol::message_kind::notify))
            return; // the core sends nothing else on a protocol without handshake and pings
        const auto& rq = m.request;
        crawlab_call o{.box = shared_from_this(), .id = rq.id};
        crawlab::message msg;
        // The one shape Crawlab carries: `(std::map<std::string, std::string>)`, or nothing.
        if (rq.args.size() > 1 || (rq.args.size() == 1 && !rq.args[0].convert(msg.params))) {
            o.refused = mailroom::error::not_encodable;
            o.why = "Crawlab mode carries one std::map<std::string, std::string> argument; " +
                    std::string(rq.path.service) + "." + std::string(rq.path.method) + " got " +
                    std::to_string(rq.args.size()) + " argument(s), the first " +
                    std::string(rq.args[0].kind());
            return ep_->submit(std::move(o));
        }
        msg.id = crawlab::make_message_id();
        msg.method = crawlab::to_method(rq.path, service_);
        msg.node_id = node_;
        msg.timeout = (std::int64_t{rq.timeout_ms} + 999) / 1000;
        o.list = list_;
        o.key = crawlab::reply_key(prefix_, node_, msg.id);
        o.text = crawlab::encode(msg);
        // A little after the station's own timeout, so that it is the station that reports it.
        o.deadline = steady_clock::now() + (rq.timeout_ms != 0 ? std::chrono::milliseconds(rq.timeout_ms) +
                                                              std::chrono::seconds(1)
                                                        : reply_wait_);
        ep_->submit(std::move(o));
    }

    void close() override
    {
        closed_ = true;
        if (!released_.exchange(true)) {
            ep_->detach(this);
            ep_->release();
        }
    }

    /// On the crawlab_endpoint's strand: a call's result, as the station's protocol writes it.
    void succeed(std::uint64_t id, const std::string& result)
    {
        if (closed_)
            return;
        frame f;
        const value_ref<std::string> v(result);
        if (auto ec = protocol_->encode_response(f, id, &v))
            return fail(id, ec, "the result could not be encoded");
        handler_->on_message(f.body());
    }

    void fail(std::uint64_t id, std::error_code code, std::string_view message)
    {
        if (closed_)
            return;
        frame f;
        protocol_->encode_error_response(f, id, code, message);
        handler_->on_message(f.body());
    }

    void lost(std::error_code ec)
    {
        if (!closed_.exchange(true))
            handler_->on_close(ec);
    }

    /// Largest reply accepted, in bytes.
    std::size_t max_frame_size() const noexcept { return max_frame_size_; }

private:
    std::shared_ptr<crawlab_endpoint> ep_;
    std::string node_, prefix_, list_, service_;
    std::chrono::milliseconds reply_wait_;
    std::shared_ptr<mailbox_handler> handler_;
    std::shared_ptr<const wire_protocol> protocol_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> released_{false};
    const std::size_t max_frame_size_;
};

} // namespace mailroom::redis::detail
