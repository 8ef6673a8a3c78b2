// Crawlab mode, client half: LPUSH a Crawlab message onto `<prefix>:<node>` and take the reply
// from `<prefix>:<node>:<id>` (docs/redis-transport.md, "Crawlab mode").
//
// Every mail box of one factory shares, per Redis, one command connection and one reader
// connection. The reader runs one `BRPOP k1 ... kn 0` over the reply keys of every call in
// flight; a call whose key is not in the running BRPOP wakes it with `CLIENT UNBLOCK` (one at
// a time: keys added meanwhile are taken by the BRPOP issued next), and the BRPOP is issued
// again with the current keys. So two connections serve any number of calls, up to
// `crawlab_options::max_in_flight`.
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
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace mailroom::redis::detail {

namespace {

using clock = std::chrono::steady_clock;

class crawlab_mailbox;

/// One call as it leaves a mail box: the message to push, or why it is refused.
struct outgoing {
    std::shared_ptr<crawlab_mailbox> box;
    std::uint64_t id = 0; // the station's request id; 0: a notify
    std::string list;     // <prefix>:<node>
    std::string key;      // <prefix>:<node>:<message id>
    std::string text;     // the Crawlab message
    clock::time_point deadline{};
    std::error_code refused{};
    std::string why{};
};

/// One Redis as the Crawlab-mode callers of a factory see it. Everything runs on `strand_`.
class endpoint : public std::enable_shared_from_this<endpoint> {
public:
    endpoint(asio::any_io_executor ex, url where, const client_options& o)
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
                if (clock::now() < self->next_attempt_)
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

    void submit(outgoing o)
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
        clock::time_point deadline;
    };

    void submit_on_strand(outgoing o);
    void connect();
    void connected(std::error_code ec);
    void lose();
    void flush();
    void read();
    void drain();
    void wake();
    void arrived(const std::string& key, const std::string& value);
    void arm(clock::time_point deadline);
    void expire();

    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer expiry_;
    url where_;
    client_options options_;
    std::chrono::milliseconds backoff_;
    clock::time_point next_attempt_{};
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
    clock::time_point armed_for_ = clock::time_point::max();
    // LPUSH batches by request list, flushed once per burst.
    std::map<std::string, std::vector<std::string>> batches_;
    std::map<std::string, std::vector<std::string>> batch_keys_;
    bool flush_posted_ = false;
};

class crawlab_mailbox final : public mailbox,
                              public std::enable_shared_from_this<crawlab_mailbox> {
public:
    crawlab_mailbox(const mailbox_context& ctx, std::shared_ptr<endpoint> ep, std::string prefix,
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
        outgoing o{.box = shared_from_this(), .id = rq.id};
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
        o.deadline = clock::now() + (rq.timeout_ms != 0 ? std::chrono::milliseconds(rq.timeout_ms) +
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

    /// On the endpoint's strand: a call's result, as the station's protocol writes it.
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
    std::shared_ptr<endpoint> ep_;
    std::string node_, prefix_, list_, service_;
    std::chrono::milliseconds reply_wait_;
    std::shared_ptr<mailbox_handler> handler_;
    std::shared_ptr<const wire_protocol> protocol_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> released_{false};
    const std::size_t max_frame_size_;
};

void endpoint::attach(std::shared_ptr<crawlab_mailbox> m)
{
    asio::post(strand_, [self = shared_from_this(), m = std::move(m)]() mutable {
        if (self->state_ != state::up)
            return m->lost(make_error_code(error::connection_lost));
        self->boxes_.insert(std::move(m));
    });
}

void endpoint::detach(const crawlab_mailbox* m)
{
    asio::post(strand_, [self = shared_from_this(), m] {
        std::erase_if(self->boxes_, [m](auto& b) { return b.get() == m; });
        std::erase_if(self->pending_, [m](auto& p) { return p.second.box.get() == m; });
    });
}

void endpoint::submit_on_strand(outgoing o)
{
    if (state_ != state::up)
        return; // the mail box learns of the loss through on_close
    if (o.refused) {
        if (o.id != 0)
            o.box->fail(o.id, o.refused, o.why);
        return;
    }
    if (o.id != 0 && pending_.size() >= options_.crawlab.max_in_flight)
        return o.box->fail(o.id, mailroom::error::queue_full,
                           "too many Crawlab calls waiting for a reply");
    auto& batch = batches_[o.list];
    if (batch.empty())
        batch.push_back("LPUSH"), batch.push_back(o.list);
    batch.push_back(std::move(o.text));
    batch_keys_[o.list].push_back(o.key);
    arm(o.deadline);
    pending_.emplace(std::move(o.key), waiting{std::move(o.box), o.id, o.deadline});
    ++keys_version_;
    if (!flush_posted_) {
        flush_posted_ = true;
        asio::post(strand_, [self = shared_from_this()] { self->flush(); });
    }
}

void endpoint::flush()
{
    flush_posted_ = false;
    if (state_ != state::up)
        return;
    for (auto& [list, args] : batches_) {
        cmd_->exec(std::move(args), [self = shared_from_this(), keys = std::move(batch_keys_[list]),
                                     c = cmd_](std::error_code ec, reply) {
            // A refused push (Redis out of memory, the list of another type): nothing is sent.
            if (ec != error::command_failed || c != self->cmd_)
                return;
            for (auto& k : keys)
                if (auto it = self->pending_.find(k); it != self->pending_.end()) {
                    auto w = std::move(it->second);
                    self->pending_.erase(it);
                    if (w.id != 0)
                        w.box->fail(w.id, mailroom::error::not_sent, "Redis refused the LPUSH");
                }
        });
    }
    batches_.clear();
    batch_keys_.clear();
    if (!reading_)
        read();
    else
        wake();
}

void endpoint::read()
{
    if (state_ != state::up || reading_ || pending_.empty())
        return;
    // After a reply, more are likely waiting: one pipelined pass of RPOPs takes them all in
    // one round trip, where a BRPOP would take one per round trip.
    if (drain_next_ && pending_.size() > 1)
        return drain();
    std::vector<std::string> args;
    args.reserve(pending_.size() + 2);
    args.push_back("BRPOP");
    for (auto& [key, w] : pending_)
        args.push_back(key);
    args.push_back("0");
    reading_ = blocking_ = true;
    read_version_ = keys_version_;
    reader_->exec(std::move(args), [self = shared_from_this(), r = reader_](std::error_code ec,
                                                                             reply rep) {
        if (ec || r != self->reader_)
            return;
        self->reading_ = self->blocking_ = false;
        self->drain_next_ = rep.type == reply::kind::array && rep.elements.size() == 2;
        if (self->drain_next_)
            self->arrived(rep.elements[0].str, rep.elements[1].str);
        // else: nil, woken by CLIENT UNBLOCK: issued again with the current keys
        self->read();
    });
}

/// One `RPOP` per pending key, pipelined; then BRPOP again, or another pass if any had one.
void endpoint::drain()
{
    reading_ = true;
    auto remaining = std::make_shared<std::size_t>(pending_.size());
    auto found = std::make_shared<bool>(false);
    for (auto& [key, w] : pending_) {
        reader_->exec({"RPOP", key}, [self = shared_from_this(), r = reader_, key, remaining,
                                      found](std::error_code ec, reply rep) {
            if (ec || r != self->reader_)
                return;
            if (rep.type == reply::kind::string) {
                *found = true;
                self->arrived(key, rep.str);
            }
            if (--*remaining != 0)
                return;
            self->reading_ = false;
            self->drain_next_ = *found;
            self->read();
        });
    }
}

/// Makes the running BRPOP return when it does not watch every key.
void endpoint::wake()
{
    if (waking_ || !blocking_ || read_version_ == keys_version_ || reader_id_.empty())
        return;
    waking_ = true;
    cmd_->exec({"CLIENT", "UNBLOCK", reader_id_},
               [self = shared_from_this(), c = cmd_](std::error_code ec, reply rep) {
                   if (c != self->cmd_)
                       return;
                   self->waking_ = false;
                   // 0: the reader was not blocked: its BRPOP has not reached Redis yet, or
                   // has returned. In the first case, try again.
                   if (!ec && rep.type == reply::kind::integer && rep.integer == 0)
                       self->wake();
               });
}

void endpoint::arrived(const std::string& key, const std::string& value)
{
    auto it = pending_.find(key);
    if (it == pending_.end())
        return; // the call gave up on it
    auto w = std::move(it->second);
    pending_.erase(it);
    if (w.id == 0)
        return; // a notify's reply: nobody waits for it
    if (value.size() > w.box->max_frame_size())
        return w.box->fail(w.id, mailroom::error::frame_too_large,
                           "Crawlab reply of " + std::to_string(value.size()) + " bytes");
    crawlab::message m;
    if (auto problem = crawlab::decode(value, m); !problem.empty())
        return w.box->fail(w.id, mailroom::error::protocol_error,
                           "malformed Crawlab reply (" + problem + ")");
    if (!m.error.empty())
        return w.box->fail(w.id, mailroom::error::remote_error, m.error);
    w.box->succeed(w.id, m.result);
}

void endpoint::arm(clock::time_point deadline)
{
    if (deadline >= armed_for_)
        return;
    armed_for_ = deadline;
    expiry_.expires_at(deadline);
    expiry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec)
            self->expire();
    });
}

/// Stops watching the keys of calls past their deadline. The station has timed them out
/// already; a call without a timeout is completed here, with `timeout`.
void endpoint::expire()
{
    armed_for_ = clock::time_point::max();
    const auto now = clock::now();
    auto next = clock::time_point::max();
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline > now) {
            next = std::min(next, it->second.deadline);
            ++it;
            continue;
        }
        auto w = std::move(it->second);
        it = pending_.erase(it);
        if (w.id != 0)
            w.box->fail(w.id, mailroom::error::timeout, "no Crawlab reply in time");
    }
    if (next != clock::time_point::max())
        arm(next);
}

void endpoint::connect()
{
    state_ = state::connecting;
    asio::any_io_executor ex = strand_;
    cmd_ = connection::create(ex, where_, options_.connect_timeout);
    reader_ = connection::create(ex, where_, options_.connect_timeout);
    auto self = shared_from_this();
    auto remaining = std::make_shared<int>(2);
    auto first_error = std::make_shared<std::error_code>();
    auto done = [self, remaining, first_error, cmd = cmd_](std::error_code ec) {
        asio::post(self->strand_, [self, remaining, first_error, ec, cmd] {
            if (ec && !*first_error)
                *first_error = ec;
            if (--*remaining == 0 && cmd == self->cmd_)
                self->connected(*first_error);
        });
    };
    cmd_->async_connect(done);
    reader_->async_connect(done);
}

void endpoint::connected(std::error_code ec)
{
    auto waiters = std::move(waiters_);
    waiters_.clear();
    if (ec) {
        state_ = state::down;
        cmd_->close();
        reader_->close();
        next_attempt_ = clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        for (auto& w : waiters)
            w(ec);
        return;
    }
    state_ = state::up;
    backoff_ = options_.min_backoff;
    auto self = shared_from_this();
    auto lost = [self, cmd = cmd_](std::error_code) {
        asio::post(self->strand_, [self, cmd] {
            if (cmd == self->cmd_)
                self->lose();
        });
    };
    cmd_->on_lost(lost);
    reader_->on_lost(lost);
    reader_id_.clear();
    // Ahead of every BRPOP on the same connection, so it is known before one can block.
    reader_->exec({"CLIENT", "ID"}, [self, r = reader_](std::error_code ec, reply rep) {
        if (ec || r != self->reader_ || rep.type != reply::kind::integer)
            return;
        self->reader_id_ = std::to_string(rep.integer);
        self->wake();
    });
    for (auto& w : waiters)
        w({});
    if (users_ == 0)
        lose();
}

void endpoint::lose()
{
    if (state_ != state::up)
        return;
    state_ = state::down;
    cmd_->close();
    reader_->close();
    reading_ = blocking_ = drain_next_ = waking_ = flush_posted_ = false;
    batches_.clear();
    batch_keys_.clear();
    // The calls in flight complete with the close of their mail boxes (`disconnected`).
    pending_.clear();
    expiry_.cancel();
    armed_for_ = clock::time_point::max();
    auto boxes = std::move(boxes_);
    boxes_.clear();
    for (auto& m : boxes)
        m->lost(make_error_code(error::connection_lost));
}

} // namespace

class crawlab_hub {
public:
    explicit crawlab_hub(const client_options& o) : options(o) {}
    client_options options;
    std::mutex mu;
    std::map<std::string, std::shared_ptr<endpoint>, std::less<>> endpoints;
};

std::shared_ptr<crawlab_hub> make_crawlab_hub(const client_options& o)
{
    return std::make_shared<crawlab_hub>(o);
}

std::shared_ptr<mailbox> make_crawlab_mailbox(const std::shared_ptr<crawlab_hub>& hub,
                                              const mailbox_context& ctx, const url& where,
                                              const std::string& url_text, std::string prefix)
{
    std::shared_ptr<endpoint> ep;
    {
        std::lock_guard lock(hub->mu);
        auto& slot = hub->endpoints[url_text];
        if (!slot)
            slot = std::make_shared<endpoint>(ctx.executor, where, hub->options);
        ep = slot;
    }
    return std::make_shared<crawlab_mailbox>(ctx, std::move(ep), std::move(prefix),
                                             hub->options.crawlab);
}

} // namespace mailroom::redis::detail
