#include <mailroom/client/failure_policy.hpp>

#include <algorithm>

namespace mailroom {

std::vector<const server_info*> call_failure::candidates() const
{
    std::vector<const server_info*> out;
    for (const server_info* s : servers.of_type(call.server_type))
        if (std::find(failed.begin(), failed.end(), s->id) == failed.end())
            out.push_back(s);
    return out;
}

void failure_policies::set_default(std::shared_ptr<failure_policy> policy)
{
    std::lock_guard lock(mu_);
    default_ = std::move(policy);
    any_.store(default_ || !by_type_.empty(), std::memory_order_release);
}

void failure_policies::set(std::string server_type, std::shared_ptr<failure_policy> policy)
{
    std::lock_guard lock(mu_);
    if (policy)
        by_type_[std::move(server_type)] = std::move(policy);
    else
        by_type_.erase(server_type);
    any_.store(default_ || !by_type_.empty(), std::memory_order_release);
}

std::shared_ptr<failure_policy> failure_policies::for_type(std::string_view server_type) const
{
    std::lock_guard lock(mu_);
    auto it = by_type_.find(server_type);
    return it == by_type_.end() ? default_ : it->second;
}

} // namespace mailroom
