#include <mailroom/client/router.hpp>
#include <mailroom/crc32.hpp>

#include "route_state.hpp"

#include <atomic>
#include <charconv>
#include <memory>
#include <random>

namespace mailroom {
namespace routes {

route_function round_robin()
{
    // One position per type: calls to other types do not skip servers.
    auto state = std::make_shared<detail::per_type<std::atomic<std::uint64_t>>>();
    return [state](const route_param&, const protocol::method_path& call,
                   const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        // A down server's turns are skipped (taken, and passed on): the others stay even.
        auto& next = state->of(call.server_type);
        std::uint64_t n = 0;
        for (std::size_t k = 0; k < list.size(); ++k) {
            n = next.fetch_add(1, std::memory_order_relaxed);
            if (!ctx.down(*list[n % list.size()]))
                break;
        }
        return list[n % list.size()]->id;
    };
}

route_function hash()
{
    auto fallback = std::make_shared<detail::per_type<std::atomic<std::uint64_t>>>();
    return [fallback](const route_param& p, const protocol::method_path& call,
                      const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        std::uint32_t h = 0;
        if (p.has_key()) {
            h = crc32(p.key());
        } else if (p.has_number()) {
            detail::decimal_key d(p);
            h = crc32(d.view());
        } else { // round robin
            const auto n = fallback->of(call.server_type).fetch_add(1, std::memory_order_relaxed);
            return list[n % list.size()]->id;
        }
        // pomelo: Math.abs(crc.crc32(uid.toString())) % n, where node's crc32 is signed.
        const std::int64_t s = static_cast<std::int32_t>(h);
        const std::uint64_t index = static_cast<std::uint64_t>(s < 0 ? -s : s);
        return list[index % list.size()]->id;
    };
}

route_function random()
{
    auto state = std::make_shared<detail::shared_random>(std::random_device{}());
    return [state](const route_param&, const protocol::method_path& call,
                   const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        const std::uint64_t r = state->next();
        return detail::up_or_spread(ctx, list, r % list.size(), r >> 32)->id;
    };
}

route_function least_active()
{
    auto state = std::make_shared<detail::shared_random>(std::random_device{}());
    return [state](const route_param&, const protocol::method_path& call,
                   const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        // One pass; among the servers tied for the fewest calls, each is kept with
        // probability 1/ties (reservoir sampling): an even split, where "the first of the
        // least loaded" would favour low ids and a rotating start would favour the server
        // after a loaded one.
        const std::uint64_t r = state->next();
        std::size_t best = 0;
        std::size_t least = SIZE_MAX;
        std::uint64_t ties = 0;
        for (std::size_t i = 0; i < list.size(); ++i) {
            // A down server counts as the most loaded: chosen only when all are down.
            const std::size_t load = ctx.down(*list[i]) ? SIZE_MAX - 1 : ctx.in_flight(*list[i]);
            if (load < least) {
                least = load;
                best = i;
                ties = 1;
            } else if (load == least) {
                ++ties;
                if (detail::mix64(r + ties * 0x9E3779B97F4A7C15ull) % ties == 0)
                    best = i;
            }
        }
        return list[best]->id;
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
                          const route_context& ctx) const
{
    std::shared_lock lock(mu_);
    const route_function* f = &default_;
    if (!by_type_.empty())
        if (auto it = by_type_.find(call.server_type); it != by_type_.end())
            f = &it->second;
    return *f ? (*f)(param, call, ctx) : std::string{};
}

} // namespace mailroom
