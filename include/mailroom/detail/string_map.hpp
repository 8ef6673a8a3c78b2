#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom::detail {

/// Hash that lets a string-keyed map be searched with a string_view (no allocation).
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};

/// An unordered map keyed by std::string and searchable by std::string_view.
template <class T>
using string_map = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

} // namespace mailroom::detail
