#include <mailroom/client/server_table.hpp>

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace mailroom {

namespace {

std::uint64_t next_version() noexcept
{
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

} // namespace

server_table::server_table() : version_(next_version()) {}

server_table::server_table(std::vector<server_info> servers)
    : version_(next_version()), servers_(std::move(servers))
{
    for (const auto& s : servers_) {
        if (!by_id_.emplace(s.id, &s).second)
            throw std::invalid_argument("duplicate server id: " + s.id);
        by_type_[s.server_type].push_back(&s);
    }
    for (auto& [type, list] : by_type_)
        std::sort(list.begin(), list.end(),
                  [](const server_info* a, const server_info* b) { return a->id < b->id; });
}

const server_info* server_table::find(std::string_view id) const noexcept
{
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

std::span<const server_info* const> server_table::of_type(std::string_view type) const noexcept
{
    auto it = by_type_.find(type);
    if (it == by_type_.end())
        return {};
    return it->second;
}

} // namespace mailroom
