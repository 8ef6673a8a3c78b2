// Crawlab mode, server half: BRPOP `<prefix>:<node>`, run the method through the core, LPUSH
// the reply onto `<prefix>:<node>:<id>` (docs/redis-transport.md, "Crawlab mode").
#include "crawlab.hpp"

#include <mailroom/error.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/crawlab_message.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/protocol.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <limits>
#include <tuple>
#include <unordered_map>

namespace mailroom::redis::detail {

namespace {

class crawlab_acceptor;

/// The core's view of the node's request list: one connection, since a Crawlab message
/// names no caller. Its frames are the answers to the requests the acceptor made up.
class crawlab_connection final : public mailroom::connection,
                                 public std::enable_shared_from_this<crawlab_connection> {
public:
    crawlab_connection(std::shared_ptr<crawlab_acceptor> acc, std::string name)
        : acc_(std::move(acc)), name_(std::move(name))
    {
    }

    void send(frame f) override;
    void close() override;
    std::string remote_address() const override { return name_; }

    const std::shared_ptr<crawlab_acceptor> acc_;
    const std::string name_;
    // Owned by the acceptor's strand:
    std::shared_ptr<connection_handler> handler_;
    bool reported_ = false;
    std::atomic<bool> closed_{false};
};

class crawlab_acceptor final : public mailroom::acceptor,
                               public std::enable_shared_from_this<crawlab_acceptor> {
public:
    crawlab_acceptor(asio::any_io_executor ex, acceptor_options o, url where)
        : strand_(asio::make_strand(ex)), timer_(strand_), options_(std::move(o)),
          where_(std::move(where)),
          queue_(crawlab::request_list(options_.crawlab.prefix, options_.node_id)),
          backoff_(options_.min_backoff)
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        asio::post(strand_, [self = shared_from_this(), h = std::move(on_accept)]() mutable {
            self->on_accept_ = std::move(h);
            self->connect();
        });
        return {};
    }

    void close() override
    {
        asio::post(strand_, [self = shared_from_this()] { self->shut_down(); });
    }

    std::string local_address() const override { return to_string(where_) + " " + queue_; }

    /// On the strand: the core answered one of our requests.
    void answer(frame f)
    {
        msgpack::zone zone;
        protocol::message m;
        if (protocol_->decode(f.body(), zone, m) || m.kind != protocol::message_kind::response)
            return;
        auto it = pending_.find(m.response.id);
        if (it == pending_.end())
            return;
        auto msg = std::move(it->second.msg);
        pending_.erase(it);
        const auto& r = m.response;
        if (r.code != 0) {
            msg.error = !r.message.empty()
                            ? std::string(r.message)
                            : std::error_code(r.code, mailroom::error_category()).message();
        } else if (!r.result.is_nil() && !r.result.convert(msg.result)) {
            msg.error = "the result of " + msg.method + " is " + std::string(r.result.kind()) +
                        ", not a string";
        }
        send_reply(std::move(msg));
    }

    /// On the strand: the core closed `c`; its unanswered requests are answered with an error.
    void closed(const std::shared_ptr<crawlab_connection>& c)
    {
        if (c->reported_)
            return;
        c->reported_ = true;
        if (vc_ == c)
            vc_.reset();
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.conn != c.get()) {
                ++it;
                continue;
            }
            auto msg = std::move(it->second.msg);
            it = pending_.erase(it);
            msg.error = closing_ ? "the node is stopping" : "the node closed the request";
            send_reply(std::move(msg));
        }
        if (auto h = std::move(c->handler_))
            h->on_close(make_error_code(mailroom::error::disconnected));
    }

    asio::strand<asio::any_io_executor> strand_;

private:
    struct pending_call {
        crawlab::message msg;
        const crawlab_connection* conn;
    };

    void connect()
    {
        if (closing_)
            return;
        asio::any_io_executor ex = strand_;
        cmd_ = connection::create(ex, where_, options_.connect_timeout);
        blk_ = connection::create(ex, where_, options_.connect_timeout);
        connect_both(cmd_, blk_, strand_,
                     [self = shared_from_this(), cmd = cmd_](std::error_code ec) {
                         if (cmd == self->cmd_)
                             self->connected(ec);
                     });
    }

    void connected(std::error_code ec)
    {
        if (closing_)
            return;
        if (ec) {
            options_.log.log(log_level::warning, "redis acceptor {} (crawlab): {} ({}), retrying",
                             options_.node_id, ec.message(), to_string(where_));
            cmd_->close();
            blk_->close();
            return retry_later();
        }
        up_ = true;
        backoff_ = options_.min_backoff;
        auto self = shared_from_this();
        auto lost = [self, cmd = cmd_](std::error_code) {
            asio::post(self->strand_, [self, cmd] {
                if (cmd == self->cmd_ && self->up_) {
                    self->up_ = false;
                    self->cmd_->close();
                    self->blk_->close();
                    self->retry_later();
                }
            });
        };
        cmd_->on_lost(lost);
        blk_->on_lost(lost);
        for (auto& r : backlog_)
            push(std::move(r.first), std::move(r.second));
        backlog_.clear();
        take();
    }

    void retry_later()
    {
        timer_.expires_after(backoff_);
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->up_)
                self->connect();
        });
    }

    void shut_down()
    {
        if (closing_)
            return;
        closing_ = true;
        timer_.cancel();
        if (blk_)
            blk_->close();
        if (cmd_) // after the replies already issued on it
            cmd_->exec({"PING"}, [c = cmd_](std::error_code, reply) { c->close(); });
        if (vc_ && !vc_->handler_)
            closed(vc_);
        on_accept_ = nullptr;
    }

    void take()
    {
        auto self = shared_from_this();
        // BRPOP, as Crawlab's nodes do: a request taken by a node that dies before answering
        // is lost (its caller times out). Crawlab's key layout has no processing list.
        blk_->exec({"BRPOP", queue_, "0"}, [self, blk = blk_](std::error_code ec, reply r) {
            if (ec || blk != self->blk_ || self->closing_)
                return;
            if (r.type == reply::kind::array && r.elements.size() == 2) {
                self->handle(r.elements[1].str);
                return self->drain();
            }
            self->take();
        });
    }

    /// Takes what else waits, up to 64 requests per round trip, then blocks again.
    void drain()
    {
        auto self = shared_from_this();
        blk_->exec({"RPOP", queue_, "64"}, [self, blk = blk_](std::error_code ec, reply r) {
            if (ec || blk != self->blk_ || self->closing_)
                return;
            if (r.type != reply::kind::array)
                return self->take();
            for (auto& e : r.elements)
                self->handle(e.str);
            self->drain();
        });
    }

    void handle(const std::string& entry)
    {
        if (entry.size() > options_.max_frame_size) {
            options_.log.log(log_level::warning,
                             "redis acceptor {} (crawlab): dropped a request of {} bytes (limit {})",
                             options_.node_id, entry.size(), options_.max_frame_size);
            return;
        }
        crawlab::message msg;
        if (auto problem = crawlab::decode(entry, msg); !problem.empty()) {
            options_.log.log(log_level::warning,
                             "redis acceptor {} (crawlab): malformed request on {} ({}){}",
                             options_.node_id, queue_, problem,
                             msg.id.empty() ? ", dropped: no id to answer" : ", answered");
            if (!msg.id.empty()) {
                msg.error = "malformed request: " + problem;
                send_reply(std::move(msg));
            }
            return;
        }
        auto path = crawlab::to_path(msg.method, options_.crawlab.service);
        if (!path) {
            msg.error = "unknown method '" + msg.method + "'";
            return send_reply(std::move(msg));
        }
        auto vc = core_connection();
        if (!vc) {
            // Stopping: the request goes back for the next node to take.
            cmd_->exec({"RPUSH", queue_, entry}, [](std::error_code, reply) {});
            return;
        }
        const std::uint64_t id = ++last_id_;
        const auto timeout_ms = static_cast<std::uint32_t>(std::min<std::int64_t>(
            msg.timeout, std::numeric_limits<std::uint32_t>::max() / 1000) * 1000);
        frame f;
        const auto args = std::make_tuple(msg.params);
        if (auto ec = protocol_->encode_request(f, id, *path, value_ref(args), timeout_ms)) {
            msg.error = ec.message();
            return send_reply(std::move(msg));
        }
        pending_.emplace(id, pending_call{std::move(msg), vc.get()});
        // The core answers through vc->send, which posts to this strand: after this returns.
        vc->handler_->on_message(f.body());
    }

    std::shared_ptr<crawlab_connection> core_connection()
    {
        if (vc_)
            return vc_;
        if (!on_accept_ || closing_)
            return nullptr;
        auto vc = std::make_shared<crawlab_connection>(shared_from_this(), queue_);
        vc_ = vc;
        vc->handler_ = on_accept_(vc);
        if (!vc->handler_) {
            vc->closed_ = true;
            closed(vc);
            return nullptr;
        }
        return vc;
    }

    /// Pushes the reply, with the TTL Crawlab does not set, so unread replies do not pile up.
    void send_reply(crawlab::message msg)
    {
        auto key = crawlab::reply_key(options_.crawlab.prefix, options_.node_id, msg.id);
        auto text = crawlab::encode(msg);
        if (!up_) {
            backlog_.emplace_back(std::move(key), std::move(text));
            return;
        }
        push(std::move(key), std::move(text));
    }

    void push(std::string key, std::string text)
    {
        cmd_->exec({"LPUSH", key, text}, [](std::error_code, reply) {});
        cmd_->exec({"PEXPIRE", key, std::to_string(options_.reply_ttl.count())},
                   [](std::error_code, reply) {});
    }

    asio::steady_timer timer_;
    acceptor_options options_;
    url where_;
    std::shared_ptr<const wire_protocol> protocol_ =
        options_.protocol ? options_.protocol : redis::protocol();
    std::string queue_;
    std::chrono::milliseconds backoff_;
    accept_handler on_accept_;
    std::shared_ptr<redis::connection> cmd_, blk_;
    bool up_ = false;
    bool closing_ = false;
    std::shared_ptr<crawlab_connection> vc_;
    std::unordered_map<std::uint64_t, pending_call> pending_;
    std::uint64_t last_id_ = 0;
    std::deque<std::pair<std::string, std::string>> backlog_;
};

void crawlab_connection::send(frame f)
{
    if (closed_)
        return;
    asio::post(acc_->strand_, [self = shared_from_this(), f = std::move(f)]() mutable {
        if (!self->reported_)
            self->acc_->answer(std::move(f));
    });
}

void crawlab_connection::close()
{
    if (closed_.exchange(true))
        return;
    asio::post(acc_->strand_, [self = shared_from_this()] { self->acc_->closed(self); });
}

} // namespace

std::shared_ptr<acceptor> make_crawlab_acceptor(asio::any_io_executor ex, acceptor_options o,
                                                url where)
{
    return std::make_shared<crawlab_acceptor>(std::move(ex), std::move(o), std::move(where));
}

std::optional<wire_format> format_of(const server_info& server, wire_format fallback)
{
    auto it = server.options.find("redis_format");
    if (it == server.options.end())
        return fallback;
    if (it->second == "native")
        return wire_format::native;
    if (it->second == "crawlab")
        return wire_format::crawlab;
    return std::nullopt;
}

std::string prefix_of(const server_info& server, const std::string& fallback)
{
    auto it = server.options.find("redis_prefix");
    return it != server.options.end() ? it->second : fallback;
}

} // namespace mailroom::redis::detail
