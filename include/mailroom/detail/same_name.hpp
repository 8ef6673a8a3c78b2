#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mailroom::detail {

template <class Word>
Word load_word(const char* at) noexcept
{
    Word w;
    std::memcpy(&w, at, sizeof w); // a fixed size: one load, never a call
    return w;
}

/** Equality of two names, inline for the short ones a call path holds (a server type,
    service or method name is usually 4 to 16 bytes: two loads each, no call to memcmp).
    The lookups made once per call (the dispatcher's cache, the metrics series) use it.
*/
[[gnu::always_inline]] inline bool same_name(std::string_view a, std::string_view b) noexcept
{
    const std::size_t n = a.size();
    if (n != b.size())
        return false;
    const char* p = a.data();
    const char* q = b.data();
    if (n >= 8 && n <= 16) // two overlapping words
        return load_word<std::uint64_t>(p) == load_word<std::uint64_t>(q) &&
               load_word<std::uint64_t>(p + n - 8) == load_word<std::uint64_t>(q + n - 8);
    if (n >= 4 && n < 8)
        return load_word<std::uint32_t>(p) == load_word<std::uint32_t>(q) &&
               load_word<std::uint32_t>(p + n - 4) == load_word<std::uint32_t>(q + n - 4);
    if (n < 4) {
        for (std::size_t i = 0; i < n; ++i)
            if (p[i] != q[i])
                return false;
        return true;
    }
    return std::memcmp(p, q, n) == 0;
}

} // namespace mailroom::detail
