#include <mailroom/client/router.hpp>

#include "route_state.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mailroom::routes {

namespace {

/** A 64-bit hash of a string: 8 bytes at a time, read little-endian whatever the machine
    (every process must put a key at the same place on the ring), each block and the result
    run through splitmix64's finaliser. Not for security; the ring only needs spread.
*/
std::uint64_t hash64(std::string_view s) noexcept
{
    std::uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * 0x9E3779B97F4A7C15ull);
    std::size_t i = 0;
    auto block = [&](std::size_t n) {
        std::uint64_t k = 0;
        for (std::size_t b = 0; b < n; ++b)
            k |= std::uint64_t(static_cast<unsigned char>(s[i + b])) << (8 * b);
        h = detail::mix64(h ^ detail::mix64(k + n));
        i += n;
    };
    while (s.size() - i >= 8)
        block(8);
    if (i < s.size())
        block(s.size() - i);
    return detail::mix64(h);
}

/// The ring of one server type for one table version: points sorted by hash, each naming
/// a server by its index in `of_type(...)`.
struct ring {
    std::uint64_t version = 0;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> points;

    ring(std::uint64_t v, std::span<const server_info* const> list, unsigned virtual_nodes)
        : version(v)
    {
        points.reserve(list.size() * virtual_nodes);
        std::string name;
        for (std::uint32_t s = 0; s < list.size(); ++s) {
            // A point depends on the server's id alone: adding or removing another server
            // never moves it, which is what bounds the keys that move.
            for (unsigned n = 0; n < virtual_nodes; ++n) {
                name.assign(list[s]->id).append("#").append(std::to_string(n));
                points.emplace_back(hash64(name), s);
            }
        }
        // Equal hashes (improbable) are ordered by id, so every process builds the same ring.
        std::sort(points.begin(), points.end(), [&](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first
                                      : list[a.second]->id < list[b.second]->id;
        });
    }

    /// The server owning `h`: that of the first point at or after it, wrapping around.
    std::uint32_t owner(std::uint64_t h) const noexcept
    {
        auto it = std::lower_bound(points.begin(), points.end(), h,
                                   [](const auto& p, std::uint64_t x) { return p.first < x; });
        return it == points.end() ? points.front().second : it->second;
    }
};

struct ch_state {
    detail::per_type<detail::versioned_cache<ring>> rings;
    detail::per_type<std::atomic<std::uint64_t>> fallback;
};

} // namespace

route_function consistent_hash(consistent_hash_options options)
{
    auto state = std::make_shared<ch_state>();
    const unsigned vnodes = std::max(options.virtual_nodes, 1u);
    return [state, vnodes, key_of = std::move(options.key_of)](
               const route_param& p, const protocol::method_path& call,
               const route_context& ctx) -> std::string {
        auto list = ctx.of_type(call.server_type);
        if (list.empty())
            return {};
        std::uint64_t h;
        if (key_of) {
            auto key = key_of(p);
            if (!key) {
                const auto n = state->fallback.of(call.server_type).fetch_add(1);
                return list[n % list.size()]->id;
            }
            h = hash64(*key);
        } else if (p.has_key()) {
            h = hash64(p.key());
        } else if (p.has_number()) {
            h = hash64(detail::decimal_key(p).view());
        } else { // nothing to hash: round robin, like routes::hash()
            const auto n = state->fallback.of(call.server_type).fetch_add(1);
            return list[n % list.size()]->id;
        }
        if (list.size() == 1)
            return list.front()->id;
        auto r = state->rings.of(call.server_type).get(ctx.version(), [&] {
            return std::make_shared<ring>(ctx.version(), list, vnodes);
        });
        return list[r->owner(h)]->id;
    };
}

} // namespace mailroom::routes
