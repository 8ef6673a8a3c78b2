#include <mailroom/redis/cluster.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/slot.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <charconv>

namespace mailroom::redis {

namespace {

constexpr int max_redirections = 5;
constexpr std::string_view scheme = "redis+cluster://";

std::string address_of(const url& u)
{
    return u.host + ":" + std::to_string(u.port);
}

/// "MOVED 3999 127.0.0.1:6381" -> {"MOVED", 3999, "127.0.0.1:6381"}; an empty host (a node
/// that does not know its own address) is the host we asked.
struct redirection
{
    bool ask = false;
    std::uint16_t slot = 0;
    std::string address;
};

std::optional<redirection> parse_redirection(std::string_view text, std::string_view asked_host)
{
    redirection r;
    if (text.starts_with("MOVED "))
        text.remove_prefix(6);
    else if (text.starts_with("ASK "))
        text.remove_prefix(4), r.ask = true;
    else
        return std::nullopt;
    auto space = text.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    unsigned slot = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + space, slot);
    if (ec != std::errc{} || slot >= cluster_slots)
        return std::nullopt;
    r.slot = static_cast<std::uint16_t>(slot);
    auto address = text.substr(space + 1);
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    r.address = colon == 0 ? std::string(asked_host) + std::string(address) : std::string(address);
    return r;
}

} // namespace

bool is_cluster_url(std::string_view text) noexcept
{
    return text.starts_with(scheme);
}

std::optional<std::vector<url>> parse_cluster_url(std::string_view text) noexcept
{
    try {
        if (!is_cluster_url(text))
            return std::nullopt;
        text.remove_prefix(scheme.size());
        std::string credentials;
        if (auto at = text.rfind('@'); at != std::string_view::npos) {
            credentials = std::string(text.substr(0, at + 1));
            text.remove_prefix(at + 1);
        }
        std::vector<url> seeds;
        while (true) {
            auto comma = text.find(',');
            auto u = parse_url("redis://" + credentials + std::string(text.substr(0, comma)));
            if (!u || u->db != 0)
                return std::nullopt;
            seeds.push_back(std::move(*u));
            if (comma == std::string_view::npos)
                return seeds;
            text.remove_prefix(comma + 1);
        }
    } catch (...) {
        return std::nullopt;
    }
}

struct cluster::command
{
    std::uint16_t slot;
    std::vector<std::string> args;
    reply_handler handler;
    int redirections = 0;
};

std::shared_ptr<cluster> cluster::create(asio::any_io_executor strand, std::vector<url> seeds,
                                         std::chrono::milliseconds connect_timeout)
{
    return std::make_shared<cluster>(private_tag{}, std::move(strand), std::move(seeds),
                                     connect_timeout);
}

cluster::cluster(private_tag, asio::any_io_executor strand, std::vector<url> seeds,
                 std::chrono::milliseconds connect_timeout)
    : strand_(std::move(strand)), seeds_(std::move(seeds)), connect_timeout_(connect_timeout)
{
}

cluster::~cluster()
{
    close();
}

void cluster::on_lost(std::function<void(std::error_code)> handler)
{
    if (!closed_)
        on_lost_ = std::move(handler);
}

void cluster::close()
{
    closed_ = true;
    on_lost_ = nullptr; // it may hold our owner, which holds us
    auto conns = std::move(conns_);
    conns_.clear();
    for (auto& [address, c] : conns)
        c->close();
}

void cluster::lost(std::error_code ec)
{
    if (!started_ || closed_)
        return;
    if (auto h = std::move(on_lost_)) {
        on_lost_ = nullptr;
        h(ec);
    }
}

std::shared_ptr<connection> cluster::connection_to(const std::string& address)
{
    if (auto it = conns_.find(address); it != conns_.end())
        return it->second;
    url where;
    if (auto u = parse_url("redis://" + address))
        where = std::move(*u);
    where.password = seeds_.empty() ? std::string() : seeds_.front().password;
    auto c = connection::create(strand_, std::move(where), connect_timeout_);
    conns_.emplace(address, c);
    std::weak_ptr<cluster> weak = shared_from_this();
    c->on_lost([weak](std::error_code ec) {
        if (auto self = weak.lock())
            self->lost(ec);
    });
    c->async_connect([weak, address, c](std::error_code ec) {
        auto self = weak.lock();
        if (!ec || !self)
            return;
        if (auto it = self->conns_.find(address); it != self->conns_.end() && it->second == c)
            self->conns_.erase(it);
        self->lost(ec);
    });
    return c;
}

std::uint16_t cluster::master_index(const std::string& address)
{
    for (std::size_t i = 0; i < masters_.size(); ++i)
        if (masters_[i] == address)
            return static_cast<std::uint16_t>(i);
    masters_.push_back(address);
    return static_cast<std::uint16_t>(masters_.size() - 1);
}

void cluster::async_connect(connect_handler handler)
{
    try_seed(0, std::move(handler));
}

void cluster::try_seed(std::size_t i, connect_handler handler)
{
    if (closed_ || i >= seeds_.size()) {
        asio::post(strand_,
                   [h = std::move(handler)]() mutable { h(make_error_code(error::unreachable)); });
        return;
    }
    auto address = address_of(seeds_[i]);
    auto c = connection_to(address);
    auto self = shared_from_this();
    load(c, seeds_[i].host, [self, i, h = std::move(handler)](std::error_code ec) mutable {
        if (ec)
            return self->try_seed(i + 1, std::move(h));
        self->started_ = true;
        h({});
    });
}

void cluster::load(std::shared_ptr<connection> from, std::string host, connect_handler handler)
{
    auto self = shared_from_this();
    from->exec({"CLUSTER", "SLOTS"}, [self, host = std::move(host),
                                      h = std::move(handler)](std::error_code ec, reply r) mutable {
        if (ec || r.type != reply::kind::array)
            return h(ec ? ec : make_error_code(error::protocol_error));
        // Built aside: a partial answer leaves the old map as it was.
        std::vector<std::string> masters;
        std::array<std::uint16_t, 16384> slots{};
        std::vector<bool> covered(cluster_slots, false);
        for (auto& range : r.elements) {
            if (range.type != reply::kind::array || range.elements.size() < 3 ||
                range.elements[2].type != reply::kind::array ||
                range.elements[2].elements.size() < 2)
                continue;
            auto& node = range.elements[2].elements;
            auto address =
                (node[0].str.empty() ? host : node[0].str) + ":" + std::to_string(node[1].integer);
            std::size_t index = 0;
            while (index < masters.size() && masters[index] != address)
                ++index;
            if (index == masters.size())
                masters.push_back(address);
            const auto first = range.elements[0].integer, last = range.elements[1].integer;
            for (auto s = std::max(first, 0LL); s <= last && s < cluster_slots; ++s) {
                slots[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(index);
                covered[static_cast<std::size_t>(s)] = true;
            }
        }
        for (bool c : covered)
            if (!c)
                return h(make_error_code(error::unreachable)); // not every slot served (yet)
        self->masters_ = std::move(masters);
        self->slots_ = slots;
        h({});
    });
}

void cluster::refresh(connect_handler handler)
{
    if (closed_ || conns_.empty()) {
        asio::post(strand_, [h = std::move(handler)]() mutable {
            h(make_error_code(error::connection_lost));
        });
        return;
    }
    auto& [address, c] = *conns_.begin();
    load(c, address.substr(0, address.rfind(':')), std::move(handler));
}

url cluster::master_of(std::string_view key) const
{
    url where;
    if (!masters_.empty())
        if (auto u = parse_url("redis://" + masters_[slots_[key_slot(key)]]))
            where = std::move(*u);
    where.password = seeds_.empty() ? std::string() : seeds_.front().password;
    return where;
}

void cluster::exec(std::string_view key, std::vector<std::string> args, reply_handler handler)
{
    send(std::make_shared<command>(command{key_slot(key), std::move(args), std::move(handler)}),
         std::nullopt);
}

void cluster::send(std::shared_ptr<command> c, std::optional<std::string> ask)
{
    if (closed_ || masters_.empty()) {
        asio::post(strand_, [c] { c->handler(make_error_code(error::connection_lost), {}); });
        return;
    }
    const std::string address = ask ? *ask : masters_[slots_[c->slot]];
    auto conn = connection_to(address);
    if (ask)
        conn->exec({"ASKING"}, [](std::error_code, reply) {});
    auto self = shared_from_this();
    conn->exec(c->args, [self, c, host = address.substr(0, address.rfind(':'))](std::error_code ec,
                                                                                reply r) {
        if (ec == error::command_failed && c->redirections < max_redirections && !self->closed_) {
            ++c->redirections;
            if (r.str.starts_with("TRYAGAIN")) {
                auto timer = std::make_shared<asio::steady_timer>(self->strand_,
                                                                  std::chrono::milliseconds(20));
                timer->async_wait(
                    [self, c, timer](boost::system::error_code) { self->send(c, std::nullopt); });
                return;
            }
            if (auto to = parse_redirection(r.str, host)) {
                if (to->ask)
                    return self->send(c, to->address);
                self->slots_[to->slot] = self->master_index(to->address);
                if (!self->refreshing_) {
                    self->refreshing_ = true;
                    self->refresh([self](std::error_code) { self->refreshing_ = false; });
                }
                return self->send(c, std::nullopt);
            }
        }
        c->handler(ec, std::move(r));
    });
}

} // namespace mailroom::redis
