#include "cancellation_access.hpp"

#include <mailroom/client/call_options.hpp>

namespace mailroom {

void cancellation::cancel()
{
    std::vector<std::pair<std::weak_ptr<detail::cancel_target>, std::uint64_t>> calls;
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        calls.swap(calls_);
    }
    for (auto& [weak, id] : calls)
        if (auto target = weak.lock())
            target->cancel_call(id);
}

bool cancellation::cancelled() const
{
    std::lock_guard lock(mu_);
    return cancelled_;
}

namespace detail {

bool cancellation_access::attach(cancellation& c, std::weak_ptr<cancel_target> target,
                                 std::uint64_t id)
{
    std::lock_guard lock(c.mu_);
    if (c.cancelled_)
        return false;
    // Forget calls whose target is gone, so a long-lived cancellation stays small.
    std::erase_if(c.calls_, [](const auto& e) { return e.first.expired(); });
    c.calls_.emplace_back(std::move(target), id);
    return true;
}

} // namespace detail
} // namespace mailroom
