#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

// Helpers shared by the fuzz targets (fuzz/README.md): an invariant check that aborts with
// the failed expression (libFuzzer then saves the input), and a read of every byte of a view
// so that AddressSanitizer sees a view that reaches past the input even when nobody reads it.

#define MAILROOM_FUZZ_CHECK(cond)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace mailroom::fuzz {

/// Reads every byte of `s` (ASan checks each read) and checks that it lies inside `within`.
inline void touch(std::span<const char> s, std::span<const char> within)
{
    if (s.empty())
        return;
    MAILROOM_FUZZ_CHECK(s.data() >= within.data() &&
                        s.data() + s.size() <= within.data() + within.size());
    volatile unsigned sum = 0;
    for (char c : s)
        sum = sum + static_cast<unsigned char>(c);
    (void)sum;
}

/// A small deterministic generator (xorshift) for the targets that choose read sizes.
class rng {
public:
    explicit rng(std::uint32_t seed) noexcept : s_(seed | 1) {}
    std::uint32_t next() noexcept
    {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 17;
        s_ ^= s_ << 5;
        return s_;
    }

private:
    std::uint32_t s_;
};

} // namespace mailroom::fuzz
