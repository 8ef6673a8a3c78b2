#include "crawlab.hpp"

#include <mailroom/error.hpp>
#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/cluster.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/protocol.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace mailroom::redis {

namespace {

class redis_acceptor;

/// The core's view of one caller: a connection whose frames go to the caller's reply list.
class virtual_connection final : public mailroom::connection,
                                 public std::enable_shared_from_this<virtual_connection> {
public:
    virtual_connection(std::shared_ptr<redis_acceptor> acc, std::string reply_list)
        : acc_(std::move(acc)), reply_list_(std::move(reply_list))
    {
    }

    void send(frame f) override;
    void close() override;
    std::string remote_address() const override { return reply_list_; }

    const std::shared_ptr<redis_acceptor> acc_;
    // Owned by the acceptor's strand:
    std::string reply_list_;
    std::shared_ptr<connection_handler> handler_;
    std::unordered_map<std::uint64_t, std::string> pending_; // request id -> queue entry
    std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
    bool reported_ = false; // on_close called
    std::atomic<bool> closed_{false};
};

class redis_acceptor final : public mailroom::acceptor,
                             public std::enable_shared_from_this<redis_acceptor> {
public:
    /// `seeds` not empty: a Redis Cluster; `where` is then the master of the node's slot,
    /// found at each connect.
    redis_acceptor(asio::any_io_executor ex, acceptor_options o, url where,
                   std::vector<url> seeds = {})
        : strand_(asio::make_strand(ex)), timer_(strand_), options_(std::move(o)),
          where_(std::move(where)), seeds_(std::move(seeds)), address_(display(where_, seeds_)),
          queue_(keys::request_list(options_.node_id)),
          processing_(keys::processing_list(options_.node_id, options_.instance)),
          lease_(keys::lease(options_.node_id, options_.instance)), backoff_(options_.min_backoff)
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

    std::string local_address() const override { return address_ + " " + queue_; }

    /// On the strand: a frame the core sent to `vc`'s caller.
    void answer(const std::shared_ptr<virtual_connection>& vc, frame f)
    {
        auto body = f.body();
        std::string entry; // the request this answers, removed once the reply is pushed
        msgpack::zone zone;
        protocol::message m;
        if (!protocol_->decode(body, zone, m) && m.kind == protocol::message_kind::response) {
            if (auto it = vc->pending_.find(m.response.id); it != vc->pending_.end()) {
                entry = std::move(it->second);
                vc->pending_.erase(it);
            }
        }
        vc->last_used_ = std::chrono::steady_clock::now();
        outgoing o{vc->reply_list_, encode(reply_envelope{.node = options_.node_id, .body = body}),
                   std::move(entry)};
        if (!up_) {
            // Pushed after the reconnect; the request stays in the processing list meanwhile.
            backlog_.push_back(std::move(o));
            return;
        }
        push(std::move(o));
    }

    /// On the strand: the connection `vc` is closed (by the core, idle, or shutdown).
    void closed(const std::shared_ptr<virtual_connection>& vc)
    {
        if (vc->reported_)
            return;
        vc->reported_ = true;
        if (auto it = conns_.find(vc->reply_list_); it != conns_.end() && it->second == vc)
            conns_.erase(it);
        if (!closing_ && up_) {
            // The core refused these (a bad message): running them again would fail again.
            for (auto& [id, entry] : vc->pending_)
                own({"LREM", processing_, "1", entry}, [](std::error_code, reply) {});
        }
        vc->pending_.clear();
        auto h = std::move(vc->handler_);
        if (h)
            h->on_close(make_error_code(mailroom::error::disconnected));
    }

private:
    struct outgoing {
        std::string reply_list;
        std::string value;
        std::string entry;
    };

    /// A command on the node's own keys (all in the node's slot): on the command connection,
    /// or through the cluster, which follows the slot when it moves.
    void own(std::vector<std::string> args, connection::reply_handler h)
    {
        if (cluster_)
            cluster_->exec(queue_, std::move(args), std::move(h));
        else
            cmd_->exec(std::move(args), std::move(h));
    }

    void push(outgoing o)
    {
        if (cluster_)
            return push_to_cluster(std::move(o));
        cmd_->exec({"LPUSH", o.reply_list, o.value}, [](std::error_code, reply) {});
        cmd_->exec({"PEXPIRE", o.reply_list, std::to_string(options_.reply_ttl.count())},
                   [](std::error_code, reply) {});
        // Same connection, so Redis runs it after the push: never removed before answered.
        if (!o.entry.empty())
            cmd_->exec({"LREM", processing_, "1", std::move(o.entry)}, [](std::error_code, reply) {});
    }

    void connect()
    {
        if (closing_)
            return;
        if (!seeds_.empty())
            return connect_cluster();
        connect_links();
    }

    /// The command and the blocking connection, to `where_`.
    void connect_links()
    {
        // The connections run their handlers through our strand: they touch our state.
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
            options_.log.log(log_level::warning, "redis acceptor {}: {} ({}), retrying",
                             options_.node_id, ec.message(), address_);
            cmd_->close();
            blk_->close();
            if (cluster_)
                cluster_->close();
            return retry_later();
        }
        up_ = true;
        backoff_ = options_.min_backoff;
        auto self = shared_from_this();
        auto lost = [self, cmd = cmd_](std::error_code) {
            asio::post(self->strand_, [self, cmd] {
                if (cmd == self->cmd_)
                    self->lose();
            });
        };
        cmd_->on_lost(lost);
        blk_->on_lost(lost);
        if (cluster_)
            cluster_->on_lost(lost);
        renew_lease();
        for (auto& o : backlog_)
            push(std::move(o));
        backlog_.clear();
        recover();
        reclaim();
        tick();
    }

    /** Requeues the entries of our own processing list that no handler of ours holds, then
        starts taking work.

        After a lost link, Redis may have done what we never heard of: a BLMOVE whose reply
        was lost left its entry in our processing list, and our lease still lives, so no
        peer would ever requeue it. Such entries go back to the taking end of the request
        list (they run again: at-least-once). Entries whose handlers still run, or whose
        replies were just pushed from the backlog (their LREM went first on this
        connection), are left alone. Taking starts only after the check, so it never sees an
        entry it is about to take.
    */
    void reclaim()
    {
        auto self = shared_from_this();
        own({"LRANGE", processing_, "0", "-1"}, [self, cmd = cmd_](std::error_code ec, reply r) {
            if (cmd != self->cmd_ || self->closing_ || !self->up_)
                return;
            if (!ec && r.type == reply::kind::array && !r.elements.empty()) {
                std::unordered_multiset<std::string_view> held;
                for (auto& [rl, vc] : self->conns_)
                    for (auto& [id, entry] : vc->pending_)
                        held.insert(entry);
                for (auto& entry : self->replying_)
                    held.insert(entry);
                for (auto& e : r.elements) {
                    if (auto it = held.find(e.str); it != held.end()) {
                        held.erase(it);
                        continue;
                    }
                    ++self->requeued_;
                    self->own({"LREM", self->processing_, "1", e.str},
                              [](std::error_code, reply) {});
                    self->own({"RPUSH", self->queue_, std::move(e.str)},
                              [](std::error_code, reply) {});
                }
            }
            // Each entry taken issues the next take, so take_depth of them stay outstanding.
            for (unsigned k = 0; k < std::max(self->options_.take_depth, 1u); ++k)
                self->take();
        });
    }

    void lose()
    {
        if (!up_)
            return;
        up_ = false;
        cmd_->close();
        blk_->close();
        if (cluster_)
            cluster_->close();
        timer_.cancel();
        retry_later();
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
        if (cmd_) {
            // Our processing list is requeued by the next incarnation at once.
            own({"DEL", lease_}, [c = cmd_, cl = cluster_](std::error_code, reply) {
                c->close();
                if (cl)
                    cl->close();
            });
        } else if (cluster_) {
            cluster_->close(); // still reading the slot map
        }
        // The core closes the connections it has; the ones it never took are ours.
        auto conns = conns_;
        for (auto& [rl, vc] : conns)
            if (!vc->handler_)
                closed(vc);
        on_accept_ = nullptr;
    }

    void renew_lease()
    {
        own({"SET", lease_, "1", "PX", std::to_string(options_.lease_ttl.count())},
                   [](std::error_code, reply) {});
    }

    void tick()
    {
        timer_.expires_after(std::max(options_.lease_ttl / 3, std::chrono::milliseconds(1)));
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || !self->up_ || self->closing_)
                return;
            self->renew_lease();
            self->recover();
            self->sweep();
            self->tick();
        });
    }

    /// Closes the connections of callers that have been quiet for `idle_timeout`.
    void sweep()
    {
        const auto now = std::chrono::steady_clock::now();
        std::vector<std::shared_ptr<virtual_connection>> idle;
        for (auto& [rl, vc] : conns_)
            if (vc->pending_.empty() && now - vc->last_used_ > options_.idle_timeout)
                idle.push_back(vc);
        for (auto& vc : idle) {
            vc->closed_ = true;
            closed(vc);
        }
    }

    /// Requeues the processing lists of this node's incarnations whose lease expired.
    void recover() { scan("0"); }

    void scan(std::string cursor)
    {
        std::string pattern;
        for (char c : keys::processing_prefix(options_.node_id)) {
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
                pattern += '\\';
            pattern += c;
        }
        pattern += '*';
        auto self = shared_from_this();
        own({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
                   [self, cmd = cmd_](std::error_code ec, reply r) {
                       if (ec || cmd != self->cmd_ || r.type != reply::kind::array ||
                           r.elements.size() != 2)
                           return;
                       const auto prefix = keys::processing_prefix(self->options_.node_id);
                       for (auto& k : r.elements[1].elements)
                           if (k.str != self->processing_ && k.str.starts_with(prefix))
                               self->check_lease(k.str, k.str.substr(prefix.size()));
                       if (r.elements[0].str != "0")
                           self->scan(r.elements[0].str);
                   });
    }

    void check_lease(std::string list, std::string instance)
    {
        auto self = shared_from_this();
        own({"EXISTS", keys::lease(options_.node_id, instance)},
                   [self, list = std::move(list), cmd = cmd_](std::error_code ec, reply r) {
                       if (!ec && cmd == self->cmd_ && r.type == reply::kind::integer && r.integer == 0)
                           self->requeue(list);
                   });
    }

    /// Moves a dead incarnation's entries back to the request list, one at a time, oldest
    /// first, to the end BLMOVE takes from.
    void requeue(std::string list)
    {
        auto self = shared_from_this();
        own({"LMOVE", list, queue_, "RIGHT", "RIGHT"},
                   [self, list, cmd = cmd_](std::error_code ec, reply r) {
                       if (ec || cmd != self->cmd_ || r.type == reply::kind::nil)
                           return;
                       ++self->requeued_;
                       self->requeue(list);
                   });
    }

    void take()
    {
        auto self = shared_from_this();
        blk_->exec({"BLMOVE", queue_, processing_, "RIGHT", "LEFT", "0"},
                   [self, blk = blk_](std::error_code ec, reply r) {
                       if (blk != self->blk_ || self->closing_)
                           return;
                       if (ec == error::command_failed && self->cluster_)
                           return self->reroute(r.str);
                       if (ec)
                           return;
                       if (r.type == reply::kind::string)
                           self->handle(std::move(r.str));
                       self->take();
                   });
    }

    void drop(const std::string& entry)
    {
        own({"LREM", processing_, "1", entry}, [](std::error_code, reply) {});
    }

    void handle(std::string entry)
    {
        auto env = decode_request(entry);
        if (!env) {
            options_.log.log(log_level::warning, "redis acceptor {}: dropped a malformed entry",
                             options_.node_id);
            return drop(entry);
        }
        if (env->deadline_ms != 0 && unix_now_ms() > env->deadline_ms) {
            ++expired_;
            options_.log.log(log_level::info,
                             "redis acceptor {}: dropped a request whose deadline passed {} ms "
                             "ago in the queue ({} so far)",
                             options_.node_id, unix_now_ms() - env->deadline_ms, expired_);
            return drop(entry);
        }
        if (env->body.size() > options_.max_frame_size) {
            options_.log.log(log_level::warning,
                             "redis acceptor {}: dropped a request of {} bytes (limit {})",
                             options_.node_id, env->body.size(), options_.max_frame_size);
            return drop(entry);
        }
        auto vc = connection_for(std::string(env->reply_list));
        if (!vc) {
            // Stopping: the request goes back for the next incarnation.
            own({"LREM", processing_, "1", entry}, [](std::error_code, reply) {});
            own({"RPUSH", queue_, entry}, [](std::error_code, reply) {});
            return;
        }
        msgpack::zone zone;
        protocol::message m;
        const auto body = env->body; // points into `entry`: kept until after on_message
        const bool answered =
            !protocol_->decode(body, zone, m) && m.kind == protocol::message_kind::request;
        vc->last_used_ = std::chrono::steady_clock::now();
        // The core answers through vc->send, which posts to this strand: the entry is in
        // pending_ before the answer is handled.
        vc->handler_->on_message(body);
        if (answered)
            vc->pending_[m.request.id] = std::move(entry);
        else
            drop(entry); // a notify (or what the core will refuse): nothing will answer it
    }

    std::shared_ptr<virtual_connection> connection_for(std::string reply_list)
    {
        if (auto it = conns_.find(reply_list); it != conns_.end())
            return it->second;
        if (!on_accept_ || closing_)
            return nullptr;
        auto vc = std::make_shared<virtual_connection>(shared_from_this(), reply_list);
        conns_.emplace(reply_list, vc);
        vc->handler_ = on_accept_(vc);
        if (!vc->handler_) {
            vc->closed_ = true;
            closed(vc);
            return nullptr;
        }
        return vc;
    }

    // Redis Cluster (docs/redis-transport.md, "Redis Cluster").
    static std::string display(const url& where, const std::vector<url>& seeds);
    void connect_cluster();
    void push_to_cluster(outgoing o);
    void reroute(const std::string& why);

public:
    asio::strand<asio::any_io_executor> strand_;

private:
    asio::steady_timer timer_;
    acceptor_options options_;
    url where_;
    std::vector<url> seeds_;
    std::shared_ptr<cluster> cluster_;
    /// Entries whose reply is being pushed to another master and whose LREM has not been
    /// answered yet (cluster only). A multiset: its iterators outlive other inserts.
    std::multiset<std::string> replying_;
    const std::string address_; // for logs and local_address, without the password
    std::shared_ptr<const wire_protocol> protocol_ =
        options_.protocol ? options_.protocol : redis::protocol();
    std::string queue_, processing_, lease_;
    std::chrono::milliseconds backoff_;
    accept_handler on_accept_;
    std::shared_ptr<connection> cmd_, blk_;
    bool up_ = false;
    bool closing_ = false;
    std::unordered_map<std::string, std::shared_ptr<virtual_connection>> conns_;
    std::deque<outgoing> backlog_;
    std::uint64_t expired_ = 0;
    std::uint64_t requeued_ = 0;
};

std::string redis_acceptor::display(const url& where, const std::vector<url>& seeds)
{
    if (seeds.empty())
        return to_string(where);
    std::string out = "redis+cluster://";
    for (auto& s : seeds)
        out += (&s == &seeds.front() ? "" : ",") + s.host + ":" + std::to_string(s.port);
    return out;
}

/// Reads the slot map, then opens both connections to the master of the node's slot: every
/// key of the node is in that slot, so everything but the replies goes there as with one Redis.
void redis_acceptor::connect_cluster()
{
    if (cluster_)
        cluster_->close();
    cluster_ = cluster::create(strand_, seeds_, options_.connect_timeout);
    cluster_->async_connect([self = shared_from_this(), cl = cluster_](std::error_code ec) {
        if (cl != self->cluster_ || self->closing_)
            return;
        if (ec) {
            self->options_.log.log(log_level::warning, "redis acceptor {}: {} ({}), retrying",
                                   self->options_.node_id, ec.message(), self->address_);
            cl->close();
            return self->retry_later();
        }
        self->where_ = cl->master_of(self->queue_);
        self->connect_links();
    });
}

/// A reply goes to the master of the caller's slot, usually not the one of the processing
/// list: the request leaves the processing list only once the push was acknowledged, so it
/// never leaves before its reply is in Redis.
void redis_acceptor::push_to_cluster(outgoing o)
{
    auto list = o.reply_list;
    // Until its LREM was answered the entry is neither pending nor surely gone: reclaim(),
    // whose LRANGE may run before that LREM on the same connection, must leave it.
    std::optional<std::multiset<std::string>::iterator> replying;
    if (!o.entry.empty())
        replying = replying_.insert(o.entry);
    cluster_->exec(
        list, {"LPUSH", list, std::move(o.value)},
        [self = shared_from_this(), cl = cluster_, list, replying,
         entry = std::move(o.entry)](std::error_code ec, reply) mutable {
            if (ec || cl != self->cluster_) {
                if (replying)
                    self->replying_.erase(*replying);
                return; // not pushed: the request stays in the processing list
            }
            const auto ttl = std::to_string(self->options_.reply_ttl.count());
            cl->exec(list, {"PEXPIRE", list, ttl}, [](std::error_code, reply) {});
            if (replying)
                cl->exec(self->processing_, {"LREM", self->processing_, "1", std::move(entry)},
                         [self, it = *replying](std::error_code, reply) {
                             self->replying_.erase(it);
                         });
        });
}

void redis_acceptor::reroute(const std::string& why)
{
    if (!up_)
        return;
    options_.log.log(log_level::info, "redis acceptor {}: {}, re-routing", options_.node_id, why);
    up_ = false;
    cmd_->close();
    blk_->close();
    timer_.cancel();
    auto follow = [self = shared_from_this(), cl = cluster_] {
        if (cl != self->cluster_ || self->closing_ || self->up_)
            return;
        cl->refresh([self, cl](std::error_code ec) {
            if (cl != self->cluster_ || self->closing_ || self->up_)
                return;
            if (ec) {
                cl->close();
                return self->retry_later(); // a full reconnect, with a new slot map
            }
            self->where_ = cl->master_of(self->queue_);
            self->connect_links();
        });
    };
    if (why.starts_with("MOVED "))
        return follow();
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    timer_.async_wait([follow](boost::system::error_code ec) {
        if (!ec)
            follow();
    });
}

void virtual_connection::send(frame f)
{
    if (closed_)
        return;
    asio::post(acc_->strand_, [self = shared_from_this(), f = std::move(f)]() mutable {
        if (!self->reported_)
            self->acc_->answer(self, std::move(f));
    });
}

void virtual_connection::close()
{
    if (closed_.exchange(true))
        return;
    asio::post(acc_->strand_, [self = shared_from_this()] { self->acc_->closed(self); });
}

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    std::optional<url> where;
    std::optional<std::vector<url>> seeds;
    if (is_cluster_url(options.url)) {
        seeds = parse_cluster_url(options.url);
        if (seeds)
            where = seeds->front();
    } else {
        where = parse_url(options.url);
    }
    if (!where || options.node_id.empty())
        throw std::system_error(make_error_code(error::bad_url),
                                "mailroom::redis::make_acceptor: URL '" + options.url +
                                    "' or node id '" + options.node_id + "'");
    if (options.format == wire_format::crawlab)
        return detail::make_crawlab_acceptor(std::move(ex), std::move(options), std::move(*where));
    if (options.instance.empty())
        options.instance = make_instance_id();
    return std::make_shared<redis_acceptor>(std::move(ex), std::move(options), std::move(*where),
                                            seeds.value_or(std::vector<url>{}));
}

} // namespace mailroom::redis
