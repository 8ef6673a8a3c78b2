#include "crawlab.hpp"

#include <mailroom/error.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>

#include <boost/asio/post.hpp>

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
    endpoint(asio::any_io_executor ex, url where, const client_options& o, std::string reply_list)
        : strand_(asio::make_strand(ex)), where_(std::move(where)), options_(o),
          reply_list_(std::move(reply_list)), backoff_(o.min_backoff)
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
        // The connections run their handlers through our strand: they touch our state.
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
                if (--*remaining != 0 || cmd != self->cmd_)
                    return;
                self->connected(*first_error);
            });
        };
        cmd_->async_connect(done);
        reader_->async_connect(done);
    }

    void connected(std::error_code ec)
    {
        auto waiters = std::move(waiters_);
        waiters_.clear();
        if (ec) {
            state_ = state::down;
            cmd_->close();
            reader_->close();
            next_attempt_ = std::chrono::steady_clock::now() + backoff_;
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
        cmd_->close();
        reader_->close();
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
            if (!args.empty())
                cmd_->exec(std::move(args), [](std::error_code, reply) {});
        batches_.clear();
    }

    /// BRPOP one reply (blocking), then RPOP the rest in batches, then block again.
    void read_replies()
    {
        auto self = shared_from_this();
        reader_->exec({"BRPOP", reply_list_, "0"}, [self, r = reader_](std::error_code ec, reply rep) {
            if (ec || r != self->reader_)
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
                          if (ec || r != self->reader_)
                              return;
                          if (rep.type != reply::kind::array)
                              return self->read_replies();
                          for (auto& e : rep.elements)
                              self->route(e.str);
                          self->drain();
                      });
    }

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
        auto where = parse_url(text);
        if (!where)
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
                slot = std::make_shared<endpoint>(ctx.executor, *where, h->options, h->reply_list);
            ep = slot;
        }
        return std::make_shared<redis_mailbox>(ctx, std::move(ep));
    };
}

} // namespace mailroom::redis
