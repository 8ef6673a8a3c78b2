#pragma once

#include <cstddef>
#include <span>

namespace mailroom::pomelo::mqtt {

namespace detail {

inline bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace detail

template <class Element>
bool split_array(std::span<const char> payload, Element&& element)
{
    const char* p = payload.data();
    const char* const end = p + payload.size();
    while (p != end && detail::is_space(*p))
        ++p;
    if (p == end || *p != '[')
        return false;
    ++p;
    int depth = 0;
    bool in_string = false;
    const char* start = nullptr; // first byte of the element being scanned
    bool seen = false;           // an element ended before
    for (; p != end; ++p) {
        const char c = *p;
        if (in_string) {
            if (c == '\\') {
                if (++p == end)
                    return false;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (detail::is_space(c))
            continue;
        if (depth == 0 && (c == ',' || c == ']')) {
            if (start) {
                const char* last = p;
                while (last != start && detail::is_space(last[-1]))
                    --last;
                element(std::span<const char>(start, static_cast<std::size_t>(last - start)));
                start = nullptr;
                seen = true;
            } else if (c == ',' || seen) {
                return false; // "[,", "[1,,2]" and "[1,]" are not JSON; "[]" is empty
            }
            if (c == ']') {
                for (++p; p != end; ++p)
                    if (!detail::is_space(*p))
                        return false; // bytes after the array
                return true;
            }
            continue;
        }
        if (!start)
            start = p;
        if (c == '"')
            in_string = true;
        else if (c == '[' || c == '{')
            ++depth;
        else if (c == ']' || c == '}') {
            if (--depth < 0)
                return false;
        }
    }
    return false; // unterminated
}

} // namespace mailroom::pomelo::mqtt
