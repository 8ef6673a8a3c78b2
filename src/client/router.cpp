#include <mailroom/client/router.hpp>
#include <mailroom/crc32.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <random>

namespace mailroom {
namespace routes {

namespace {

/// One round-robin position per server type, so calls to other types do not skip servers.
/** One counter per server type. The first 64 types are found without a lock (a scan of a
    table that only grows, published by its size); more types than that share a locked map.
*/
class round_robin_state {
public:
    std::uint64_t next(std::string_view server_type)
    {
        const std::size_t n = size_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < n; ++i)
            if (entries_[i].type == server_type)
                return entries_[i].next.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mu_);
        const std::size_t now = size_.load(std::memory_order_relaxed);
        for (std::size_t i = n; i < now; ++i)
            if (entries_[i].type == server_type)
                return entries_[i].next.fetch_add(1, std::memory_order_relaxed);
        if (now < entries_.size()) {
            entries_[now].type = std::string(server_type);
            size_.store(now + 1, std::memory_order_release);
            return entries_[now].next.fetch_add(1, std::memory_order_relaxed);
        }
        auto it = overflow_.find(server_type);
        if (it == overflow_.end())
            it = overflow_.emplace(std::string(server_type), 0).first;
        return it->second++;
    }

private:
    struct entry {
        std::string type; // written once, before size_ publishes it
        std::atomic<std::uint64_t> next{0};
    };
    std::array<entry, 64> entries_;
    std::atomic<std::size_t> size_{0};
    std::mutex mu_; // guards adding entries and overflow_
    detail::string_map<std::uint64_t> overflow_;
};

} // namespace

route_function round_robin()
{
    auto state = std::make_shared<round_robin_state>();
    return [state](const route_param&, const protocol::method_path& call,
                   const server_table& servers) -> std::string {
        auto list = servers.of_type(call.server_type);
        if (list.empty())
            return {};
        return list[state->next(call.server_type) % list.size()]->id;
    };
}

route_function hash()
{
    auto fallback = std::make_shared<round_robin_state>();
    return [fallback](const route_param& p, const protocol::method_path& call,
                      const server_table& servers) -> std::string {
        auto list = servers.of_type(call.server_type);
        if (list.empty())
            return {};
        std::uint32_t h = 0;
        if (p.has_key()) {
            h = crc32(p.key());
        } else if (p.has_number()) {
            char buf[24];
            char* first = buf;
            if (p.negative())
                *first++ = '-';
            auto r = std::to_chars(first, buf + sizeof buf, p.number());
            h = crc32(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
        } else {
            return list[fallback->next(call.server_type) % list.size()]->id; // round robin
        }
        // pomelo: Math.abs(crc.crc32(uid.toString())) % n, where node's crc32 is signed.
        const std::int64_t s = static_cast<std::int32_t>(h);
        const std::uint64_t index = static_cast<std::uint64_t>(s < 0 ? -s : s);
        return list[index % list.size()]->id;
    };
}

route_function random()
{
    // splitmix64 over an atomic counter: lock-free, no per-thread state.
    auto state = std::make_shared<std::atomic<std::uint64_t>>(std::random_device{}());
    return [state](const route_param&, const protocol::method_path& call,
                   const server_table& servers) -> std::string {
        auto list = servers.of_type(call.server_type);
        if (list.empty())
            return {};
        std::uint64_t z = state->fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return list[z % list.size()]->id;
    };
}

} // namespace routes

router::router() : default_(routes::hash()) {}

router::router(route_function default_route) : default_(std::move(default_route)) {}

void router::set(std::string server_type, route_function f)
{
    std::unique_lock lock(mu_);
    by_type_[std::move(server_type)] = std::move(f);
}

void router::set_default(route_function f)
{
    std::unique_lock lock(mu_);
    default_ = std::move(f);
}

std::string router::route(const route_param& param, const protocol::method_path& call,
                          const server_table& servers) const
{
    std::shared_lock lock(mu_);
    const route_function* f = &default_;
    if (!by_type_.empty())
        if (auto it = by_type_.find(call.server_type); it != by_type_.end())
            f = &it->second;
    return *f ? (*f)(param, call, servers) : std::string{};
}

} // namespace mailroom
