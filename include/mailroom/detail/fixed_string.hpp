#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace mailroom::detail {

/// A string literal usable as a template argument: `server_type<"chat", ...>`.
template <std::size_t N>
struct fixed_string {
    char data[N]{};

    constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, data); }

    constexpr std::string_view view() const { return {data, N - 1}; }
};

} // namespace mailroom::detail
