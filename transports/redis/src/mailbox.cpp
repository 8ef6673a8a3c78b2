#include "crawlab.hpp"

#include <mailroom/error.hpp>
#include <mailroom/redis/cluster.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

namespace mailroom::redis {

namespace {

class redis_mailbox;

/// One Redis as the callers of a factory see it: the shared command connection, the reply
/// reader, and the mail boxes to route replies to. Everything runs on `strand_`.
class endpoint : public std::enable_shared_from_this<endpoint> {
public:
    /// `seeds` not empty: a Redis Cluster (`where` is unused).
    endpoint(asio::any_io_executor ex, url where, const client_options& o, std::string reply_list,
             std::vector<url> seeds = {})
        : strand_(asio::make_strand(ex)), where_(std::move(where)), options_(o),
          reply_list_(std::move(reply_list)), backoff_(o.min_backoff), seeds_(std::move(seeds))
    {
    }

    const std::string& reply_list() const { return reply_list_; }

    /// Completes `h` on the strand once the connections are up, or with the error.
    void ensure_up(mailroom::detail::unique_function<void(std::error_code)> h)
    {
        asio::post(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
            self->ensure_up_on_strand(std::move(h));
        });
    }

    void attach(const std::string& node, std::shared_ptr<redis_mailbox> m)
    {
        asio::post(strand_, [self = shared_from_this(), node, m = std::move(m)]() mutable {
            if (self->state_ != state::up) {
                self->report_lost(m, make_error_code(error::connection_lost));
                return;
            }
            self->boxes_[node] = std::move(m);
        });
    }

    void detach(const std::string& node, const redis_mailbox* m)
    {
        asio::post(strand_, [self = shared_from_this(), node, m] {
            auto it = self->boxes_.find(node);
            if (it != self->boxes_.end() && it->second.get() == m)
                self->boxes_.erase(it);
        });
    }

    /// A mail box exists (until @ref release): the connections stay up while any does.
    void retain()
    {
        asio::post(strand_, [self = shared_from_this()] { ++self->users_; });
    }

    /// Without mail boxes the connections close, so that nothing keeps the executor busy
    /// (a blocked BRPOP) once the station closed; the next mail box reconnects.
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

    /// Queues one entry for `list`; entries pushed in one burst leave as one LPUSH.
    void push(std::string list, std::string entry)
    {
        asio::post(strand_, [self = shared_from_this(), list = std::move(list),
                             entry = std::move(entry)]() mutable {
            if (self->state_ != state::up)
                return; // the mail box learns of the loss through on_close
            auto& batch = self->batches_[list];
            if (batch.empty())
                batch.push_back("LPUSH"), batch.push_back(list);
            batch.push_back(std::move(entry));
            if (!self->flush_posted_) {
                self->flush_posted_ = true;
                asio::post(self->strand_, [self] { self->flush(); });
            }
        });
    }

private:
    enum class state { down, connecting, up };

    void ensure_up_on_strand(mailroom::detail::unique_function<void(std::error_code)> h)
    {
        switch (state_) {
        case state::up: h({}); return;
        case state::connecting: waiters_.push_back(std::move(h)); return;
        case state::down:
            if (std::chrono::steady_clock::now() < next_attempt_) {
                h(make_error_code(error::unreachable));
                return;
            }
            waiters_.push_back(std::move(h));
            connect();
        }
    }

    void connect()
    {
        state_ = state::connecting;
        ++generation_;
        if (!seeds_.empty())
            return connect_cluster();
        // The connections run their handlers through our strand: they touch our state.
        asio::any_io_executor ex = strand_;
        cmd_ = connection::create(ex, where_, options_.connect_timeout);
        reader_ = connection::create(ex, where_, options_.connect_timeout);
        connect_both(cmd_, reader_, strand_,
                     [self = shared_from_this(), cmd = cmd_](std::error_code ec) {
                         if (cmd == self->cmd_)
                             self->connected(ec);
                     });
    }

    void connected(std::error_code ec)
    {
        auto waiters = std::move(waiters_);
        waiters_.clear();
        if (ec) {
            state_ = state::down;
            close_links();
            next_attempt_ = std::chrono::steady_clock::now() + backoff_;
            backoff_ = std::min(backoff_ * 2, options_.max_backoff);
            for (auto& w : waiters)
                w(ec);
            return;
        }
        state_ = state::up;
        backoff_ = options_.min_backoff;
        auto self = shared_from_this();
        auto lost = lost_handler();
        if (cmd_)
            cmd_->on_lost(lost);
        if (cluster_)
            cluster_->on_lost(lost);
        reader_->on_lost(lost);
        read_replies();
        for (auto& w : waiters)
            w({});
        if (users_ == 0) // every mail box closed while it connected
            lose();
    }

    void lose()
    {
        if (state_ != state::up)
            return;
        state_ = state::down;
        close_links();
        batches_.clear();
        flush_posted_ = false;
        auto boxes = std::move(boxes_);
        boxes_.clear();
        for (auto& [node, m] : boxes)
            report_lost(m, make_error_code(error::connection_lost));
    }

    void flush()
    {
        flush_posted_ = false;
        for (auto& [list, args] : batches_)
            if (args.empty())
                continue;
            else if (cluster_)
                cluster_->exec(list, std::move(args), [](std::error_code, reply) {});
            else
                cmd_->exec(std::move(args), [](std::error_code, reply) {});
        batches_.clear();
    }

    /// BRPOP one reply (blocking), then RPOP the rest in batches, then block again.
    void read_replies()
    {
        auto self = shared_from_this();
        reader_->exec({"BRPOP", reply_list_, "0"}, [self, r = reader_](std::error_code ec, reply rep) {
            if (r != self->reader_)
                return;
            if (ec == error::command_failed && self->cluster_)
                return self->reroute_reader(rep.str);
            if (ec)
                return;
            if (rep.type == reply::kind::array && rep.elements.size() == 2)
                self->route(rep.elements[1].str);
            self->drain();
        });
    }

    void drain()
    {
        auto self = shared_from_this();
        reader_->exec({"RPOP", reply_list_, std::to_string(options_.max_replies_per_read)},
                      [self, r = reader_](std::error_code ec, reply rep) {
                          if (r != self->reader_)
                              return;
                          if (ec == error::command_failed && self->cluster_)
                              return self->reroute_reader(rep.str);
                          if (ec)
                              return;
                          if (rep.type != reply::kind::array)
                              return self->read_replies();
                          for (auto& e : rep.elements)
                              self->route(e.str);
                          self->drain();
                      });
    }

    std::function<void(std::error_code)> lost_handler()
    {
        return [self = shared_from_this(), gen = generation_](std::error_code) {
            asio::post(self->strand_, [self, gen] {
                if (gen == self->generation_)
                    self->lose();
            });
        };
    }

    void close_links()
    {
        if (cmd_)
            cmd_->close();
        if (cluster_)
            cluster_->close();
        if (reader_)
            reader_->close();
    }

    // Redis Cluster (docs/redis-transport.md, "Redis Cluster"): pushes go through the slot
    // map to each node's master; the reader blocks on the master of our reply list's slot.
    void connect_cluster();
    void open_reader(std::uint64_t gen);
    void reroute_reader(const std::string& why);

    void route(const std::string& entry);
    void report_lost(const std::shared_ptr<redis_mailbox>& m, std::error_code ec);

    asio::strand<asio::any_io_executor> strand_;
    url where_;
    client_options options_;
    std::string reply_list_;
    state state_ = state::down;
    std::shared_ptr<connection> cmd_, reader_;
    std::vector<mailroom::detail::unique_function<void(std::error_code)>> waiters_;
    std::chrono::steady_clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_;
    std::unordered_map<std::string, std::shared_ptr<redis_mailbox>> boxes_;
    std::map<std::string, std::vector<std::string>> batches_;
    bool flush_posted_ = false;
    int users_ = 0;
    /// Bumped by every connect: handlers of older connections see they are stale.
    std::uint64_t generation_ = 0;
    std::vector<url> seeds_;
    std::shared_ptr<cluster> cluster_;
};

class redis_mailbox final : public mailbox, public std::enable_shared_from_this<redis_mailbox> {
public:
    redis_mailbox(const mailbox_context& ctx, std::shared_ptr<endpoint> ep)
        : ep_(std::move(ep)), node_(node_of(ctx.server)), queue_(keys::request_list(node_)),
          handler_(ctx.handler), protocol_(ctx.protocol), max_frame_size_(ctx.max_frame_size)
    {
        ep_->retain();
    }

    ~redis_mailbox() override
    {
        if (!released_.exchange(true))
            ep_->release();
    }

    void async_connect(connect_handler handler) override
    {
        ep_->ensure_up([self = shared_from_this(), h = std::move(handler)](std::error_code ec) mutable {
            if (!ec && !self->closed_)
                self->ep_->attach(self->node_, self);
            h(ec);
        });
    }

    void send(frame f) override
    {
        if (closed_)
            return;
        auto body = f.body();
        // The deadline travels as an absolute time, written now: a request that waited in
        // the queue past it is not run (docs/redis-transport.md, clock skew).
        std::uint64_t deadline = 0;
        msgpack::zone zone;
        protocol::message m;
        if (!protocol_->decode(body, zone, m) && m.kind == protocol::message_kind::request &&
            m.request.timeout_ms != 0)
            deadline = unix_now_ms() + m.request.timeout_ms;
        // TODO(perf): a decode per request only to read the timeout.
        ep_->push(queue_, encode(request_envelope{.reply_list = ep_->reply_list(),
                                                  .deadline_ms = deadline,
                                                  .body = body}));
    }

    void close() override
    {
        closed_ = true;
        if (!released_.exchange(true)) {
            ep_->detach(node_, this);
            ep_->release();
        }
    }

    /// On the endpoint's strand (on the mail box's executor, one at a time).
    void deliver(std::span<const char> body)
    {
        if (!closed_ && body.size() <= max_frame_size_)
            handler_->on_message(body);
    }

    void lost(std::error_code ec)
    {
        if (!closed_.exchange(true))
            handler_->on_close(ec);
        // The station closes it after on_close; the endpoint is released then.
    }

private:
    std::shared_ptr<endpoint> ep_;
    std::string node_;
    std::string queue_;
    std::shared_ptr<mailbox_handler> handler_;
    std::shared_ptr<const wire_protocol> protocol_;
    std::size_t max_frame_size_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> released_{false};
};

void endpoint::connect_cluster()
{
    cmd_ = nullptr;
    reader_ = nullptr;
    cluster_ = cluster::create(strand_, seeds_, options_.connect_timeout);
    cluster_->async_connect([self = shared_from_this(), gen = generation_](std::error_code ec) {
        if (gen != self->generation_)
            return;
        if (ec)
            return self->connected(ec);
        self->open_reader(gen);
    });
}

/// Opens the blocking reader on the master of our reply list's slot; `connected` on the first
/// connect, `read_replies` on a re-route.
void endpoint::open_reader(std::uint64_t gen)
{
    asio::any_io_executor ex = strand_;
    reader_ = connection::create(ex, cluster_->master_of(reply_list_), options_.connect_timeout);
    reader_->async_connect([self = shared_from_this(), gen, r = reader_](std::error_code ec) {
        asio::post(self->strand_, [self, gen, r, ec] {
            if (gen != self->generation_ || r != self->reader_)
                return;
            if (self->state_ == state::connecting)
                return self->connected(ec);
            if (ec)
                return self->lose();
            r->on_lost(self->lost_handler());
            self->read_replies();
        });
    });
}

/// The reader's command was answered with an error reply: MOVED when our reply list's slot
/// moved to another master (at once), ASK or TRYAGAIN while it is being migrated (after a
/// pause, so that a migration in progress is not polled in a tight loop).
void endpoint::reroute_reader(const std::string& why)
{
    reader_->close();
    auto gen = generation_;
    auto again = [self = shared_from_this(), gen] {
        if (gen != self->generation_ || self->state_ != state::up)
            return;
        self->cluster_->refresh([self, gen](std::error_code ec) {
            if (gen != self->generation_ || self->state_ != state::up)
                return;
            if (ec)
                return self->lose();
            self->open_reader(gen);
        });
    };
    if (why.starts_with("MOVED "))
        return again();
    auto timer = std::make_shared<asio::steady_timer>(strand_, std::chrono::milliseconds(20));
    timer->async_wait([timer, again](boost::system::error_code) { again(); });
}

void endpoint::route(const std::string& entry)
{
    auto e = decode_reply(entry);
    if (!e)
        return; // not ours: nothing can answer it
    auto it = boxes_.find(std::string(e->node));
    if (it != boxes_.end())
        it->second->deliver(e->body);
    // else: a reply for a mail box that closed; its calls have completed already
}

void endpoint::report_lost(const std::shared_ptr<redis_mailbox>& m, std::error_code ec)
{
    m->lost(ec);
}

/// The factory's state: one endpoint per Redis URL.
struct hub {
    client_options options;
    std::string reply_list;
    std::mutex mu;
    std::map<std::string, std::shared_ptr<endpoint>, std::less<>> endpoints;
    std::shared_ptr<detail::crawlab_hub> crawlab; // the mail boxes of Crawlab-mode servers
};

/// A mail box whose connect fails (a malformed URL); sends are dropped.
class failed_mailbox final : public mailbox {
public:
    failed_mailbox(asio::any_io_executor ex, std::error_code ec) : ex_(std::move(ex)), ec_(ec) {}
    void async_connect(connect_handler h) override
    {
        asio::post(ex_, [h = std::move(h), ec = ec_]() mutable { h(ec); });
    }
    void send(frame) override {}
    void close() override {}

private:
    asio::any_io_executor ex_;
    std::error_code ec_;
};

} // namespace

mailbox_factory make_mailbox_factory(client_options options)
{
    auto h = std::make_shared<hub>();
    if (options.instance.empty())
        options.instance = make_instance_id();
    h->reply_list = keys::reply_list(options.instance);
    h->crawlab = detail::make_crawlab_hub(options);
    h->options = std::move(options);
    return [h](const mailbox_context& ctx) -> std::shared_ptr<mailbox> {
        auto it = ctx.server.options.find("redis_url");
        const std::string& text = it != ctx.server.options.end() ? it->second : h->options.default_url;
        std::optional<url> where;
        std::optional<std::vector<url>> seeds;
        if (is_cluster_url(text))
            seeds = parse_cluster_url(text);
        else
            where = parse_url(text);
        if (!where && !seeds)
            return std::make_shared<failed_mailbox>(ctx.executor, make_error_code(error::bad_url));
        const auto format = detail::format_of(ctx.server, h->options.format);
        if (!format) // "redis_format" names no format this transport speaks
            return std::make_shared<failed_mailbox>(ctx.executor, make_error_code(error::bad_option));
        if (*format == wire_format::crawlab)
            return detail::make_crawlab_mailbox(
                h->crawlab, ctx, *where, text, detail::prefix_of(ctx.server, h->options.crawlab.prefix));
        std::shared_ptr<endpoint> ep;
        {
            std::lock_guard lock(h->mu);
            auto& slot = h->endpoints[text];
            if (!slot)
                slot = std::make_shared<endpoint>(ctx.executor, where.value_or(url{}), h->options,
                                                  h->reply_list,
                                                  seeds.value_or(std::vector<url>{}));
            ep = slot;
        }
        return std::make_shared<redis_mailbox>(ctx, std::move(ep));
    };
}

} // namespace mailroom::redis
