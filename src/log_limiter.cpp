#include <mailroom/log_limiter.hpp>

#include <utility>

namespace mailroom {

void log_limiter::forget_ended(clock::time_point now)
{
    std::erase_if(entries_, [&](const auto& kv) {
        return now - kv.second.window_start >= settings_.interval && kv.second.suppressed == 0;
    });
}

bool log_limiter::admit(std::string_view key, clock::time_point now, std::uint64_t& suppressed)
{
    suppressed = 0;
    if (settings_.interval.count() <= 0)
        return true;
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) {
        if (entries_.size() >= settings_.max_keys)
            forget_ended(now);
        // Still full: every new key shares the overflow entry "".
        const std::string k = entries_.size() >= settings_.max_keys ? std::string() : std::string(key);
        it = entries_.try_emplace(k, entry{.window_start = now}).first;
    }
    entry& e = it->second;
    if (now - e.window_start >= settings_.interval) {
        e.window_start = now;
        e.written = 0;
    }
    if (e.written >= settings_.lines_per_interval) {
        ++e.suppressed;
        ++suppressed_total_;
        return false;
    }
    ++e.written;
    suppressed = std::exchange(e.suppressed, 0);
    return true;
}

std::uint64_t log_limiter::suppressed_total() const
{
    std::lock_guard lock(mu_);
    return suppressed_total_;
}

std::size_t log_limiter::keys() const
{
    std::lock_guard lock(mu_);
    return entries_.size();
}

std::string_view peer_host(std::string_view address) noexcept
{
    if (!address.empty() && address.front() == '[') {
        const auto close = address.find(']');
        return close == std::string_view::npos ? address : address.substr(0, close + 1);
    }
    const auto colon = address.rfind(':');
    // More than one colon without brackets: a bare IPv6 address, no port.
    if (colon == std::string_view::npos || address.find(':') != colon)
        return address;
    return address.substr(0, colon);
}

} // namespace mailroom
