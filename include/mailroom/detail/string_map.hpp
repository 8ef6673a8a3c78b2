#pragma once

#include <mailroom/detail/same_name.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom::detail {

/// A per-process seed for @ref string_hash (a peer that can choose keys cannot precompute
/// collisions).
std::uint64_t string_hash_seed() noexcept;

/** Hash that lets a string-keyed map be searched with a string_view (no allocation).

    The keys hashed on the call path are short (server ids and types, service and method
    names): read 8 bytes at a time (the tail with overlapping loads, never byte by byte) and
    mixed with one 64 × 64 → 128-bit multiply per word, inline, seeded per process. It is
    several times cheaper than `std::hash<std::string_view>` for such keys, which the call
    path hashes twice per call.
*/
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        static const std::uint64_t seed = string_hash_seed();
        const char* p = s.data();
        std::size_t n = s.size();
        std::uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ull);
        while (n > 8) {
            h = mix(h ^ load_word<std::uint64_t>(p), 0xA0761D6478BD642Full);
            p += 8;
            n -= 8;
        }
        // 0 to 8 bytes left: two overlapping loads cover them without a loop.
        std::uint64_t a = 0, b = 0;
        if (n >= 4) {
            a = load_word<std::uint32_t>(p);
            b = load_word<std::uint32_t>(p + n - 4);
        } else if (n > 0) {
            a = static_cast<unsigned char>(p[0]);
            b = (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
                static_cast<unsigned char>(p[n - 1]);
        }
        return static_cast<std::size_t>(mix(h ^ a ^ 0xE7037ED1A0B428DBull, b ^ seed));
    }

private:
    static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept
    {
#ifdef __SIZEOF_INT128__
        __extension__ using u128 = unsigned __int128;
        const u128 m = static_cast<u128>(a) * b;
        return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
#else
        const std::uint64_t m = (a ^ (a >> 32)) * (b | 1);
        return m ^ (m >> 29);
#endif
    }
};

/// An unordered map keyed by std::string and searchable by std::string_view.
template <class T>
using string_map = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

} // namespace mailroom::detail
