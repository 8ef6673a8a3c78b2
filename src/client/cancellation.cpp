#include "server_slot.hpp"

#include <mailroom/client/call_options.hpp>

namespace mailroom {

void cancellation::cancel()
{
    std::vector<std::pair<std::weak_ptr<detail::server_slot>, std::uint64_t>> calls;
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        calls.swap(calls_);
    }
    for (auto& [weak, id] : calls)
        if (auto slot = weak.lock())
            slot->cancel(id);
}

bool cancellation::cancelled() const
{
    std::lock_guard lock(mu_);
    return cancelled_;
}

bool cancellation::attach(std::weak_ptr<detail::server_slot> slot, std::uint64_t id)
{
    std::lock_guard lock(mu_);
    if (cancelled_)
        return false;
    // Forget calls of slots that are gone, so a long-lived cancellation stays small.
    std::erase_if(calls_, [](const auto& c) { return c.first.expired(); });
    calls_.emplace_back(std::move(slot), id);
    return true;
}

} // namespace mailroom
