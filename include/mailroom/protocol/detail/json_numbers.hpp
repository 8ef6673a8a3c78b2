#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mailroom::detail {

template <class T>
bool json_numbers_fit(const nlohmann::json& j) noexcept;

template <class Tuple, std::size_t... I>
bool json_elements_fit(const nlohmann::json& j, std::index_sequence<I...>) noexcept
{
    return j.is_array() && j.size() == sizeof...(I) &&
           (json_numbers_fit<std::tuple_element_t<I, Tuple>>(j[I]) && ...);
}

template <class E>
bool json_array_fits(const nlohmann::json& j) noexcept
{
    if (!j.is_array())
        return true; // not ours to judge: the conversion fails with a type error
    for (const auto& e : j)
        if (!json_numbers_fit<E>(e))
            return false;
    return true;
}

template <class V>
bool json_object_fits(const nlohmann::json& j) noexcept
{
    if (!j.is_object())
        return true;
    for (const auto& e : j)
        if (!json_numbers_fit<V>(e))
            return false;
    return true;
}

template <class T>
struct json_numbers {
    static bool fit(const nlohmann::json&) noexcept { return true; }
};
template <class E, class A>
struct json_numbers<std::vector<E, A>> {
    static bool fit(const nlohmann::json& j) noexcept { return json_array_fits<E>(j); }
};
template <class E, class A>
struct json_numbers<std::list<E, A>> {
    static bool fit(const nlohmann::json& j) noexcept { return json_array_fits<E>(j); }
};
template <class E, std::size_t N>
struct json_numbers<std::array<E, N>> {
    static bool fit(const nlohmann::json& j) noexcept { return json_array_fits<E>(j); }
};
template <class K, class V, class C, class A>
struct json_numbers<std::map<K, V, C, A>> {
    static bool fit(const nlohmann::json& j) noexcept { return json_object_fits<V>(j); }
};
template <class K, class V, class H, class E, class A>
struct json_numbers<std::unordered_map<K, V, H, E, A>> {
    static bool fit(const nlohmann::json& j) noexcept { return json_object_fits<V>(j); }
};
template <class E>
struct json_numbers<std::optional<E>> {
    static bool fit(const nlohmann::json& j) noexcept
    {
        return j.is_null() || json_numbers_fit<E>(j);
    }
};
template <class... E>
struct json_numbers<std::tuple<E...>> {
    static bool fit(const nlohmann::json& j) noexcept
    {
        return !j.is_array() ||
               json_elements_fit<std::tuple<E...>>(j, std::index_sequence_for<E...>{});
    }
};
template <class A, class B>
struct json_numbers<std::pair<A, B>> {
    static bool fit(const nlohmann::json& j) noexcept
    {
        return !j.is_array() ||
               json_elements_fit<std::tuple<A, B>>(j, std::index_sequence_for<A, B>{});
    }
};

/** Whether the numbers of `j` fit the arithmetic types of `T` where nlohmann's conversion
    would `static_cast` them: an integer parameter takes only an integer in its range (a
    fraction, or 1e300, is undefined behaviour in the cast and a wrong value at best), as the
    msgpack conversion does. Looks through the standard containers, optionals and tuples;
    other types (strings, a user's `from_json`) are left to their conversion.
*/
// TODO(security): a user's from_json that reads an integer with get<int>() still gets
// nlohmann's unchecked cast; only the standard types above are checked.
template <class T>
bool json_numbers_fit(const nlohmann::json& j) noexcept
{
    if constexpr (std::is_same_v<T, bool> || !std::is_arithmetic_v<T>) {
        return json_numbers<T>::fit(j);
    } else if constexpr (std::is_floating_point_v<T>) {
        return true; // a double that is out of a float's range becomes infinity, defined
    } else {
        if (j.is_number_unsigned())
            return j.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        if (j.is_number_integer()) {
            const auto v = j.get<std::int64_t>();
            if constexpr (std::is_signed_v<T>)
                return v >= std::numeric_limits<T>::min() &&
                       (v < 0 || static_cast<std::uint64_t>(v) <=
                                     static_cast<std::uint64_t>(std::numeric_limits<T>::max()));
            else
                return v >= 0 && static_cast<std::uint64_t>(v) <=
                                     static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        }
        return !j.is_number_float();
    }
}

} // namespace mailroom::detail
