#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/registry.hpp>
#include <mailroom/redis/registry_layout.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace mailroom::redis {

namespace {

namespace asio = boost::asio;

// KEYS: members (zset: id -> lease expiry, ms of Redis's clock), entries (hash: id -> JSON),
// events (channel). Every key shares the hash tag {cluster}: one slot.

// ARGV: id, entry, epoch, ttl ms. Returns 1, or -1 when a newer incarnation holds the id.
constexpr std::string_view register_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and tonumber(old.epoch or 0) > tonumber(ARGV[3]) then
    return -1
  end
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local fresh = (not score) or tonumber(score) < now or cur ~= ARGV[2]
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if fresh then redis.call('PUBLISH', KEYS[3], 'join ' .. ARGV[1]) end
return 1
)lua";

// ARGV: id, epoch. Removes the entry only if it is this incarnation's.
constexpr std::string_view leave_script = R"lua(
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then return 0 end
local ok, old = pcall(cjson.decode, cur)
if ok and type(old) == 'table' and tonumber(old.epoch or 0) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', KEYS[3], 'leave ' .. ARGV[1])
return 1
)lua";



class redis_registry final : public mailroom::registry,
                             public std::enable_shared_from_this<redis_registry> {
public:
    explicit redis_registry(registry_options o)
        : options_(std::move(o)), backoff_(options_.min_backoff)
    {
        auto u = parse_url(options_.url);
        if (!u)
            throw std::invalid_argument("redis registry: malformed url \"" + options_.url + "\"");
        where_ = *u;
        auto k = registry_layout::keys_of(options_.cluster);
        members_key_ = std::move(k.members);
        entries_key_ = std::move(k.entries);
        events_ = std::move(k.events);
        epoch_key_ = std::move(k.epoch);
    }

    void start(asio::any_io_executor ex, std::optional<server_info> self, listener on_change) override
    {
        strand_.emplace(asio::make_strand(ex));
        timer_.emplace(*strand_);
        asio::post(*strand_, [self_ptr = shared_from_this(), self = std::move(self),
                              l = std::move(on_change)]() mutable {
            self_ptr->self_ = std::move(self);
            self_ptr->listener_ = std::move(l);
            self_ptr->connect();
        });
    }

    std::uint64_t epoch() const override { return epoch_.load(); }

    void stop() override
    {
        if (!strand_)
            return;
        asio::post(*strand_, [self = shared_from_this()] { self->shut_down(); });
    }

private:
    std::vector<std::string> keys_args(std::string_view script, int nkeys)
    {
        std::vector<std::string> a{"EVAL", std::string(script), std::to_string(nkeys),
                                   members_key_, entries_key_, events_};
        return a;
    }

    void connect()
    {
        if (stopping_)
            return;
        asio::any_io_executor ex = *strand_;
        cmd_ = connection::create(ex, where_, options_.connect_timeout);
        sub_ = connection::create(ex, where_, options_.connect_timeout);
        connect_both(cmd_, sub_, *strand_,
                     [self = shared_from_this(), cmd = cmd_](std::error_code ec) {
                         if (cmd == self->cmd_)
                             self->connected(ec);
                     });
    }

    void connected(std::error_code ec)
    {
        if (stopping_)
            return close_links();
        if (ec) {
            options_.log.log(log_level::warning, "redis registry {}: {}, retrying", options_.cluster,
                             ec.message());
            close_links();
            return retry_later();
        }
        up_ = true;
        backoff_ = options_.min_backoff;
        auto self = shared_from_this();
        auto lost = [self, cmd = cmd_](std::error_code) {
            asio::post(*self->strand_, [self, cmd] {
                if (cmd == self->cmd_)
                    self->lose();
            });
        };
        cmd_->on_lost(lost);
        sub_->on_lost(lost);
        sub_->on_push([self](reply r) { self->on_event(r); });
        sub_->exec({"SUBSCRIBE", events_}, [](std::error_code, reply) {});
        if (self_ && epoch_ == 0) {
            cmd_->exec({"INCR", epoch_key_}, [self, cmd = cmd_](std::error_code ec, reply r) {
                if (cmd != self->cmd_ || self->stopping_)
                    return;
                if (ec || r.type != reply::kind::integer) {
                    self->options_.log.log(log_level::error, "redis registry {}: no epoch: {}",
                                           self->options_.cluster, ec.message());
                    return self->lose();
                }
                self->epoch_ = static_cast<std::uint64_t>(r.integer);
                self->self_->epoch = self->epoch_;
                self->renew();
                self->resync();
            });
        } else {
            renew();
            resync();
        }
        tick();
    }

    void renew()
    {
        if (!self_ || epoch_ == 0 || fenced_ || !up_)
            return;
        auto args = keys_args(register_script, 3);
        args.insert(args.end(), {self_->id, registry_layout::entry_json(*self_), std::to_string(epoch_.load()),
                                 std::to_string(options_.lease_ttl.count())});
        cmd_->exec(std::move(args), [self = shared_from_this()](std::error_code ec, reply r) {
            if (ec || r.type != reply::kind::integer || r.integer != -1)
                return;
            self->fenced_ = true;
            self->options_.log.log(log_level::error,
                                   "redis registry {}: {} (epoch {}) is held by a newer "
                                   "incarnation; this one stops registering",
                                   self->options_.cluster, self->self_->id, self->epoch_.load());
        });
    }

    void resync()
    {
        if (!up_ || stopping_)
            return;
        if (listing_) {
            again_ = true;
            return;
        }
        listing_ = true;
        cmd_->exec(keys_args(registry_layout::list_script(), 3), [self = shared_from_this(),
                                                 cmd = cmd_](std::error_code ec, reply r) {
            self->listing_ = false;
            if (cmd != self->cmd_ || self->stopping_)
                return;
            if (!ec && r.type == reply::kind::array) {
                std::vector<server_info> members;
                for (auto& e : r.elements)
                    if (e.type == reply::kind::string)
                        if (auto s = registry_layout::parse_entry(e.str))
                            members.push_back(std::move(*s));
                std::sort(members.begin(), members.end(),
                          [](const auto& a, const auto& b) { return a.id < b.id; });
                if (!self->table_ || *self->table_ != members) {
                    self->table_ = members;
                    if (self->listener_)
                        self->listener_(std::move(members));
                }
            }
            // Events that came in meanwhile: each entry is read again now, after the list (an
            // entry read is the truth at its time, whatever the event said).
            auto named = std::exchange(self->named_, {});
            if (std::exchange(self->again_, false))
                return self->resync();
            if (!ec && self->table_) // else the next periodic read heals
                for (auto& id : named)
                    self->fetch(std::move(id));
        });
    }

    /** A pushed message. A join reads that one entry (HGET), a leave or an expiry drops it:
        one change costs each member O(1), not a read of the whole table (at 1,000 members a
        table read is ~130 KiB, and every member did one per change). Anything the delta
        cannot settle safely reads the whole table: the subscription's confirmation, a
        message it does not know, a table not read yet, and a second event while an entry is
        being read (their order against the entry's reply is unknown). During a full read
        (whose reply may predate the change) the entries named are read once it is in. The
        periodic full read stays.
    */
    void on_event(const reply& r)
    {
        ++messages_;
        if (!table_ || r.type != reply::kind::array || r.elements.size() != 3 ||
            r.elements[0].str != "message")
            return resync();
        const std::string_view text = r.elements[2].str;
        const auto space = text.find(' ');
        const std::string_view what = text.substr(0, space);
        if (space == text.npos || space + 1 == text.size() ||
            (what != "join" && what != "leave" && what != "expired"))
            return resync();
        std::string id(text.substr(space + 1));
        if (listing_) { // the list's reply may predate the change: read the entry after it
            if (std::find(named_.begin(), named_.end(), id) == named_.end())
                named_.push_back(std::move(id));
            return;
        }
        if (what == "join")
            return fetch(std::move(id));
        drop(id);
    }

    /// Reads the entry of `id`, which joined or changed.
    void fetch(std::string id)
    {
        const auto seen = messages_;
        cmd_->exec({"HGET", entries_key_, id}, [self = shared_from_this(), cmd = cmd_, seen,
                                                 id](std::error_code ec, reply r) {
            if (cmd != self->cmd_ || self->stopping_)
                return;
            // Sent after the event arrived, so it sees the change or a later one; but another
            // event since may be newer or older than this reply: then read everything.
            if (ec || self->messages_ != seen || !self->table_)
                return self->resync();
            if (self->listing_) { // read it again once that list is in
                self->named_.push_back(id);
                return;
            }
            if (r.type == reply::kind::nil) // gone again already
                return self->drop(id);
            auto s = r.type == reply::kind::string ? registry_layout::parse_entry(r.str) : std::nullopt;
            if (!s || s->id != id)
                return self->resync();
            auto& t = *self->table_;
            auto at = std::lower_bound(t.begin(), t.end(), id,
                                       [](const server_info& a, const std::string& b) {
                                           return a.id < b;
                                       });
            if (at != t.end() && at->id == id) {
                if (*at == *s)
                    return;
                *at = std::move(*s);
            } else {
                t.insert(at, std::move(*s));
            }
            self->publish();
        });
    }

    void drop(std::string_view id)
    {
        auto& t = *table_;
        auto at = std::find_if(t.begin(), t.end(), [&](const server_info& a) { return a.id == id; });
        if (at == t.end())
            return;
        t.erase(at);
        publish();
    }

    /// Tells the listener the table.
    void publish()
    {
        if (listener_)
            listener_(*table_);
    }

    void tick()
    {
        const auto period = std::max(std::chrono::milliseconds(1),
                                     std::min(options_.lease_ttl / 3, options_.resync_period));
        timer_->expires_after(period);
        timer_->async_wait([self = shared_from_this(), period](boost::system::error_code ec) {
            if (ec || !self->up_ || self->stopping_)
                return;
            const auto now = std::chrono::steady_clock::now();
            if (now - self->last_renew_ >= self->options_.lease_ttl / 3) {
                self->last_renew_ = now;
                self->renew();
            }
            if (now - self->last_resync_ >= self->options_.resync_period) {
                self->last_resync_ = now;
                self->resync();
            }
            self->tick();
        });
    }

    void lose()
    {
        if (!up_)
            return;
        up_ = false;
        listing_ = false;
        again_ = false;
        named_.clear();
        options_.log.log(log_level::warning, "redis registry {}: lost the link to Redis, "
                                             "reconnecting (the table is kept meanwhile)",
                         options_.cluster);
        close_links();
        timer_->cancel();
        retry_later();
    }

    void retry_later()
    {
        timer_->expires_after(backoff_);
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->up_ && !self->stopping_)
                self->connect();
        });
    }

    void shut_down()
    {
        if (stopping_)
            return;
        stopping_ = true;
        listener_ = nullptr;
        if (timer_)
            timer_->cancel();
        if (up_ && self_ && epoch_ != 0 && !fenced_) {
            auto args = keys_args(leave_script, 3);
            args.insert(args.end(), {self_->id, std::to_string(epoch_.load())});
            cmd_->exec(std::move(args), [self = shared_from_this()](std::error_code, reply) {
                self->close_links();
            });
            if (sub_)
                sub_->close();
            return;
        }
        close_links();
    }

    void close_links()
    {
        if (cmd_)
            cmd_->close();
        if (sub_)
            sub_->close();
    }

    registry_options options_;
    url where_;
    std::string members_key_, entries_key_, events_, epoch_key_;
    std::optional<asio::strand<asio::any_io_executor>> strand_;
    std::optional<asio::steady_timer> timer_;
    std::shared_ptr<connection> cmd_, sub_;
    std::optional<server_info> self_;
    listener listener_;
    std::optional<std::vector<server_info>> table_; // sorted by id
    std::uint64_t messages_ = 0; // received, to tell whether one came in between
    std::vector<std::string> named_; // by events during a full read: read after it
    std::atomic<std::uint64_t> epoch_{0};
    std::chrono::milliseconds backoff_;
    std::chrono::steady_clock::time_point last_renew_{}, last_resync_{};
    bool up_ = false, stopping_ = false, fenced_ = false, listing_ = false, again_ = false;
};

} // namespace

std::shared_ptr<mailroom::registry> make_registry(registry_options options)
{
    return std::make_shared<redis_registry>(std::move(options));
}

} // namespace mailroom::redis

namespace mailroom::redis::registry_layout {
namespace {

// Removes the expired members (and says so), then returns the live members' entries.
constexpr std::string_view list_lua = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('PUBLISH', KEYS[3], 'expired ' .. id)
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(live) do
  local e = redis.call('HGET', KEYS[2], id)
  if e then out[#out + 1] = e end
end
return out
)lua";

} // namespace

keys keys_of(std::string_view cluster)
{
    const std::string base = "mailroom:reg:{" + std::string(cluster) + "}:";
    return {base + "members", base + "entries", base + "events", base + "epoch"};
}

std::string_view list_script() noexcept
{
    return list_lua;
}

std::string entry_json(const server_info& s)
{
    nlohmann::json j{{"id", s.id},         {"serverType", s.server_type}, {"host", s.host},
                     {"port", s.port},     {"transport", s.transport},    {"weight", s.weight},
                     {"epoch", s.epoch}};
    auto& o = j["options"] = nlohmann::json::object();
    for (const auto& [k, v] : s.options)
        o[k] = v;
    return j.dump();
}

std::optional<server_info> parse_entry(std::string_view text)
{
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object())
        return std::nullopt;
    try {
        server_info s;
        s.id = j.at("id").get<std::string>();
        s.server_type = j.at("serverType").get<std::string>();
        s.host = j.value("host", std::string{});
        s.port = j.value("port", std::uint16_t{0});
        s.transport = j.value("transport", std::string("tcp"));
        s.weight = j.value("weight", 1);
        s.epoch = j.value("epoch", std::uint64_t{0});
        if (auto it = j.find("options"); it != j.end() && it->is_object())
            for (auto& [k, v] : it->items())
                if (v.is_string())
                    s.options[k] = v.get<std::string>();
        if (s.id.empty() || s.server_type.empty())
            return std::nullopt;
        return s;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

} // namespace mailroom::redis::registry_layout
