#include <mailroom/client/router.hpp>

#include "route_state.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

namespace mailroom::routes {

namespace {

/// The longest schedule kept per type: larger weight sums are scaled down to it.
constexpr std::uint64_t max_period = 65'536;

/** One period of nginx's smooth weighted round robin over the servers of a type, as indexes
    into `of_type(...)` of the table version it was made for. The sequence repeats exactly
    after `sum(weights)` picks (every current weight is back to 0), so following it with a
    counter gives nginx's choices without a lock.
*/
struct wrr_schedule {
    std::uint64_t version = 0;
    std::vector<std::uint32_t> order;
    std::atomic<std::uint64_t> next{0};

    wrr_schedule(std::uint64_t v, std::span<const server_info* const> list) : version(v)
    {
        std::vector<std::uint64_t> w(list.size());
        for (std::size_t i = 0; i < list.size(); ++i)
            w[i] = static_cast<std::uint64_t>(std::max(list[i]->weight, 0));
        if (std::all_of(w.begin(), w.end(), [](auto x) { return x == 0; }))
            std::fill(w.begin(), w.end(), 1); // nobody weighted: share alike
        std::uint64_t g = 0;
        for (auto x : w)
            g = std::gcd(g, x);
        std::uint64_t sum = 0;
        for (auto& x : w)
            sum += (x /= g);
        if (sum > max_period) { // keep the schedule small; every weighted server stays in it
            std::uint64_t scaled = 0;
            for (auto& x : w)
                scaled += (x = x == 0 ? 0 : std::max<std::uint64_t>(1, x * max_period / sum));
            sum = scaled;
        }
        order.reserve(sum);
        std::vector<std::int64_t> current(w.size(), 0);
        const auto total = static_cast<std::int64_t>(sum);
        for (std::uint64_t k = 0; k < sum; ++k) {
            std::size_t best = 0;
            for (std::size_t i = 0; i < w.size(); ++i) {
                current[i] += static_cast<std::int64_t>(w[i]);
                if (current[i] > current[best])
                    best = i;
            }
            current[best] -= total;
            order.push_back(static_cast<std::uint32_t>(best));
        }
    }
};

} // namespace

route_function weighted_round_robin()
{
    auto state = std::make_shared<detail::per_type<detail::versioned_cache<wrr_schedule>>>();
    return [state](const route_param&, const protocol::method_path& call,
                   const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        auto s = state->of(call.server_type).get(ctx.version(), [&] {
            return std::make_shared<wrr_schedule>(ctx.version(), list);
        });
        // A down server's turns are skipped (taken, and passed on): the up servers keep the
        // proportions of their weights.
        const std::size_t len = s->order.size();
        std::uint64_t n = 0;
        for (std::size_t k = 0; k < len; ++k) {
            n = s->next.fetch_add(1, std::memory_order_relaxed);
            if (const server_info* c = list[s->order[n % len]]; !ctx.down(*c))
                return c->id;
        }
        return list[s->order[n % len]]->id; // all down
    };
}

} // namespace mailroom::routes
