#pragma once

#include <mailroom/error.hpp>
#include <mailroom/protocol/detail/json_numbers.hpp>
#include <mailroom/wire_type.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mailroom::detail {

// Whether a type has a JSON form, checked all the way down: nlohmann's own check looks one
// level into a container, so std::map<std::string, item> passes it for an `item` without
// from_json and then fails to compile inside nlohmann. A container has a form when its
// elements have one; anything else asks nlohmann's serializer (built-in types, and classes
// with to_json/from_json: declare those with the type, so every translation unit sees them).

template <class T>
struct json_read_leaf
    : std::bool_constant<requires(const nlohmann::json& j, T& v) {
          nlohmann::adl_serializer<T>::from_json(j, v);
      }> {};

template <class T>
struct json_write_leaf
    : std::bool_constant<requires(nlohmann::json& j, const T& v) {
          nlohmann::adl_serializer<T>::to_json(j, v);
      }> {};

template <class T, template <class> class Leaf>
struct json_rec : Leaf<T> {};

template <template <class> class Leaf, class... T>
struct json_rec_all : std::bool_constant<(json_rec<std::remove_cvref_t<T>, Leaf>::value && ...)> {};

template <class T, class A, template <class> class L>
struct json_rec<std::vector<T, A>, L> : json_rec_all<L, T> {};
template <class T, class A, template <class> class L>
struct json_rec<std::list<T, A>, L> : json_rec_all<L, T> {};
template <class T, class A, template <class> class L>
struct json_rec<std::deque<T, A>, L> : json_rec_all<L, T> {};
template <class T, std::size_t N, template <class> class L>
struct json_rec<std::array<T, N>, L> : json_rec_all<L, T> {};
template <class T, class C, class A, template <class> class L>
struct json_rec<std::set<T, C, A>, L> : json_rec_all<L, T> {};
template <class T, class H, class E, class A, template <class> class L>
struct json_rec<std::unordered_set<T, H, E, A>, L> : json_rec_all<L, T> {};
template <class K, class V, class C, class A, template <class> class L>
struct json_rec<std::map<K, V, C, A>, L> : json_rec_all<L, K, V> {};
template <class K, class V, class C, class A, template <class> class L>
struct json_rec<std::multimap<K, V, C, A>, L> : json_rec_all<L, K, V> {};
template <class K, class V, class H, class E, class A, template <class> class L>
struct json_rec<std::unordered_map<K, V, H, E, A>, L> : json_rec_all<L, K, V> {};
template <class A, class B, template <class> class L>
struct json_rec<std::pair<A, B>, L> : json_rec_all<L, A, B> {};
template <class... T, template <class> class L>
struct json_rec<std::tuple<T...>, L> : json_rec_all<L, T...> {};

/// `T` can be written as JSON (arguments and results sent to a JSON protocol).
template <class T>
inline constexpr bool json_writable_v = json_rec<std::remove_cvref_t<T>, json_write_leaf>::value;

/// `T` can be read from JSON (parameters and results received from a JSON protocol).
template <class T>
inline constexpr bool json_readable_v = json_rec<std::remove_cvref_t<T>, json_read_leaf>::value;

/// `T` has a JSON form both ways.
template <class T>
inline constexpr bool json_type_v = json_readable_v<T> && json_writable_v<T>;

/** A type that travels in JSON only: it has a JSON form and is not a wire type (no msgpack
    adaptor mailroom knows of). Its msgpack conversions are never instantiated: calls with it
    to a msgpack protocol fail with `not_encodable` instead of failing to compile.
*/
template <class T>
inline constexpr bool json_only_v = json_type_v<T> && !wire_check_v<T>;

template <class T>
struct is_std_tuple : std::false_type {};
template <class... T>
struct is_std_tuple<std::tuple<T...>> : std::true_type {};

/// Writes one value as JSON; false if its type has no JSON form.
template <class T>
bool write_json(nlohmann::json& out, const T& v)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<T>, nlohmann::json>) {
        out = v;
        return true;
    } else if constexpr (is_std_tuple<std::remove_cvref_t<T>>::value) {
        // Element by element: nlohmann's own tuple conversion goes through an initializer
        // list, which turns ("a", 1)-shaped pairs of pairs into an object.
        out = nlohmann::json::array();
        return std::apply(
            [&](const auto&... e) { return (write_json(out.emplace_back(), e) && ...); }, v);
    } else if constexpr (json_writable_v<T>) {
        out = v;
        return true;
    } else {
        return false;
    }
}

/** Reads a JSON value into `out` as strictly as the msgpack path does: a number that is not
    an integer, a negative number or one out of range does not become an integer, a boolean
    is not a number, and a number is not a boolean. False if it does not convert.
*/
template <class T>
bool read_json(const nlohmann::json& j, T& out)
{
    if constexpr (std::is_same_v<T, nlohmann::json>) {
        out = j;
        return true;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean())
            return false;
        out = j.get<bool>();
        return true;
    } else if constexpr (std::is_integral_v<T>) {
        if (j.is_number_unsigned()) {
            const auto v = j.get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                return false;
            out = static_cast<T>(v);
            return true;
        }
        if (!j.is_number_integer())
            return false;
        const auto v = j.get<std::int64_t>();
        if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            (v > 0 && static_cast<std::uint64_t>(v) >
                          static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
            return false;
        out = static_cast<T>(v);
        return true;
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!j.is_number())
            return false;
        out = j.get<T>();
        return true;
    } else if constexpr (json_readable_v<T>) {
        // nlohmann casts numbers inside containers unchecked (undefined out of range).
        if (!json_numbers_fit<T>(j))
            return false;
        j.get_to(out);
        return true;
    } else {
        return false;
    }
}

/** Runs an encoder, turning a throw (a JSON library's error on a string that is not UTF-8,
    out of memory) into `error::not_encodable`: encoding a call or a result never throws at
    the caller.
*/
template <class Encode>
std::error_code encode_noexcept(Encode&& encode) noexcept
{
    try {
        return std::forward<Encode>(encode)();
    } catch (...) {
        return error::not_encodable;
    }
}

} // namespace mailroom::detail
