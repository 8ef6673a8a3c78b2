#pragma once

#include <mailroom/server/call_context.hpp>
#include <mailroom/server/reply_callback.hpp>

#include <boost/asio/awaitable.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

/// Parameter and result types of a callable (function, function pointer, lambda, functor).
template <class F>
struct function_traits : function_traits<decltype(&F::operator())> {};

template <class R, class... A>
struct function_traits<R(A...)> {
    using result_type = R;
    using args_type = std::tuple<A...>;
};
template <class R, class... A>
struct function_traits<R (*)(A...)> : function_traits<R(A...)> {};
template <class R, class... A>
struct function_traits<R (*)(A...) noexcept> : function_traits<R(A...)> {};
template <class C, class R, class... A>
struct function_traits<R (C::*)(A...)> : function_traits<R(A...)> {};
template <class C, class R, class... A>
struct function_traits<R (C::*)(A...) const> : function_traits<R(A...)> {};
template <class C, class R, class... A>
struct function_traits<R (C::*)(A...) noexcept> : function_traits<R(A...)> {};
template <class C, class R, class... A>
struct function_traits<R (C::*)(A...) const noexcept> : function_traits<R(A...)> {};

template <class T>
struct awaitable_value {
    static constexpr bool value = false;
};
template <class T, class E>
struct awaitable_value<asio::awaitable<T, E>> {
    static constexpr bool value = true;
    using type = T;
};

template <class T>
struct reply_value {
    static constexpr bool value = false;
};
template <class T>
struct reply_value<reply_callback<T>> {
    static constexpr bool value = true;
    using type = T;
};

/// The decayed types of `Tuple`'s elements in [Begin, End).
template <std::size_t Begin, class Tuple, class Seq>
struct slice_impl;
template <std::size_t Begin, class Tuple, std::size_t... I>
struct slice_impl<Begin, Tuple, std::index_sequence<I...>> {
    using type = std::tuple<std::remove_cvref_t<std::tuple_element_t<Begin + I, Tuple>>...>;
};
template <std::size_t Begin, std::size_t End, class Tuple>
using tuple_slice_t = typename slice_impl<Begin, Tuple, std::make_index_sequence<End - Begin>>::type;

template <class Tuple, bool Empty = std::tuple_size_v<Tuple> == 0>
struct last_element {
    using type = void;
};
template <class Tuple>
struct last_element<Tuple, false> {
    using type = std::remove_cvref_t<std::tuple_element_t<std::tuple_size_v<Tuple> - 1, Tuple>>;
};

template <class Tuple, bool Empty = std::tuple_size_v<Tuple> == 0>
struct first_is_context : std::false_type {};
template <class Tuple>
struct first_is_context<Tuple, false>
    : std::is_same<std::remove_cvref_t<std::tuple_element_t<0, Tuple>>, call_context> {};

/** The form of a remote handler, read from its signature (STYLE.md R10):

    | form            | signature                                         | value_type |
    |-----------------|---------------------------------------------------|------------|
    | plain           | `R f([const call_context&,] A...)`                | `R`        |
    | coroutine       | `asio::awaitable<R> f([const call_context&,] A...)` | `R`      |
    | reply callback  | `void f([const call_context&,] A..., reply_callback<R>)` | `R` |

    `wire_args` are the decayed `A...`: what the caller sends.
*/
template <class F>
struct handler_traits {
    using args_type = typename function_traits<std::remove_cvref_t<F>>::args_type;
    using result_type = typename function_traits<std::remove_cvref_t<F>>::result_type;
    static constexpr std::size_t arity = std::tuple_size_v<args_type>;
    static constexpr bool takes_context = first_is_context<args_type>::value;
    static constexpr bool takes_reply =
        arity > (takes_context ? 1 : 0) && reply_value<typename last_element<args_type>::type>::value;
    static constexpr bool is_coroutine = awaitable_value<result_type>::value;

    static_assert(!(takes_reply && is_coroutine),
                  "a remote handler either returns asio::awaitable<R> or takes a reply_callback<R>");
    static_assert(!takes_reply || std::is_void_v<result_type>,
                  "a remote handler that takes a reply_callback<R> must return void");

    using wire_args = tuple_slice_t<(takes_context ? 1 : 0), arity - (takes_reply ? 1 : 0), args_type>;

    using value_type = typename std::conditional_t<
        takes_reply, reply_value<typename last_element<args_type>::type>,
        std::conditional_t<is_coroutine, awaitable_value<result_type>,
                           std::type_identity<result_type>>>::type;
};

} // namespace mailroom::detail
