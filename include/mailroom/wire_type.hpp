#pragma once

#include <mailroom/no_reply.hpp>

#include <msgpack.hpp>

#include <array>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mailroom {

/** Marks a type that travels through a msgpack adaptor written outside the type: a
    specialisation of `msgpack::adaptor::pack` and `convert`, or an enum declared with
    `MSGPACK_ADD_ENUM`. Types with `MSGPACK_DEFINE_MAP`/`MSGPACK_DEFINE` inside need nothing.

    @par Example
    @code
    enum class team { red, blue };
    MSGPACK_ADD_ENUM(team);                       // at global scope
    template <> struct mailroom::is_wire_type<team> : std::true_type {};
    @endcode
*/
template <class T>
struct is_wire_type : std::false_type {};

namespace detail {

template <class T>
struct wire_check;

template <class T>
inline constexpr bool wire_check_v = wire_check<std::remove_cvref_t<T>>::value;

/// A class with msgpack's intrusive adaptor: what MSGPACK_DEFINE_MAP and MSGPACK_DEFINE add.
template <class T>
concept has_msgpack_members =
    requires(T& t, const T& c, msgpack::packer<msgpack::sbuffer>& pk, const msgpack::object& o) {
        c.msgpack_pack(pk);
        t.msgpack_unpack(o);
    };

template <class T>
struct wire_check {
    static constexpr bool value = std::is_arithmetic_v<T> || std::is_enum_v<T> ||
                                  has_msgpack_members<T> || is_wire_type<T>::value;
};
template <>
struct wire_check<void> : std::true_type {};
template <>
struct wire_check<no_reply> : std::true_type {};
template <>
struct wire_check<std::string> : std::true_type {};
template <>
struct wire_check<msgpack::object> : std::true_type {};

// The standard containers msgpack-cxx has adaptors for travel when their elements do.
template <class... T>
struct wire_all : std::bool_constant<(wire_check_v<T> && ...)> {};
template <class T, class A>
struct wire_check<std::vector<T, A>> : wire_all<T> {};
template <class T, class A>
struct wire_check<std::list<T, A>> : wire_all<T> {};
template <class T, class A>
struct wire_check<std::deque<T, A>> : wire_all<T> {};
template <class T, std::size_t N>
struct wire_check<std::array<T, N>> : wire_all<T> {};
template <class T, class C, class A>
struct wire_check<std::set<T, C, A>> : wire_all<T> {};
template <class T, class H, class E, class A>
struct wire_check<std::unordered_set<T, H, E, A>> : wire_all<T> {};
template <class K, class V, class C, class A>
struct wire_check<std::map<K, V, C, A>> : wire_all<K, V> {};
template <class K, class V, class C, class A>
struct wire_check<std::multimap<K, V, C, A>> : wire_all<K, V> {};
template <class K, class V, class H, class E, class A>
struct wire_check<std::unordered_map<K, V, H, E, A>> : wire_all<K, V> {};
template <class T>
struct wire_check<std::optional<T>> : wire_all<T> {};
template <class A, class B>
struct wire_check<std::pair<A, B>> : wire_all<A, B> {};
template <class... T>
struct wire_check<std::tuple<T...>> : wire_all<T...> {};

/// Fails, naming `T` in its instantiation, when `T` cannot travel.
template <class T>
struct require_wire_type {
    static_assert(wire_check_v<T>,
                  "mailroom: this type cannot travel in a call: give it MSGPACK_DEFINE_MAP(its "
                  "fields...) from <msgpack.hpp>, or specialise mailroom::is_wire_type for a "
                  "msgpack adaptor of your own (docs/guide.md, \"Your own types\")");
    static constexpr bool value = wire_check_v<T>;
};

/// Every parameter and the result of a declared signature travel.
template <class Sig>
struct wire_signature;
template <class R, class... A>
struct wire_signature<R(A...)>
    : std::bool_constant<(require_wire_type<R>::value && ... && require_wire_type<A>::value)> {};

} // namespace detail

/** A type that can be an argument or a result of a remote: arithmetic types and enums, the
    standard strings and containers msgpack-cxx adapts (of such types), classes with
    `MSGPACK_DEFINE_MAP`/`MSGPACK_DEFINE`, and types marked with @ref is_wire_type.
    `MAILROOM_REMOTE` checks every declared parameter and result with it.
*/
template <class T>
concept wire_type = detail::wire_check_v<T>;

} // namespace mailroom
