#include <mailroom/detail/string_map.hpp>

#include <chrono>
#include <random>

namespace mailroom::detail {

std::uint64_t string_hash_seed() noexcept
{
    std::uint64_t seed = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    try {
        std::random_device rd;
        seed ^= (std::uint64_t{rd()} << 32) | rd();
    } catch (...) {
        // No entropy source: the clock and the address below still vary per process.
    }
    seed ^= reinterpret_cast<std::uintptr_t>(&seed);
    return seed | 1;
}

} // namespace mailroom::detail
