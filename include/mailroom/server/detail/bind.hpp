#pragma once

#include <mailroom/error.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/responder.hpp>

#include <msgpack.hpp>

#include <exception>
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

/// The wire parameters of a handler: its parameters without a leading call_context.
template <class Tuple>
struct wire_params;

template <>
struct wire_params<std::tuple<>> {
    static constexpr bool takes_context = false;
    using type = std::tuple<>;
};

template <class First, class... Rest>
struct wire_params<std::tuple<First, Rest...>> {
    static constexpr bool takes_context =
        std::is_same_v<std::remove_cvref_t<First>, call_context>;
    using type = std::conditional_t<takes_context, std::tuple<std::remove_cvref_t<Rest>...>,
                                    std::tuple<std::remove_cvref_t<First>,
                                               std::remove_cvref_t<Rest>...>>;
};

/// Converts a msgpack array into the parameter tuple; false if the count or a type differs.
template <class Tuple, std::size_t... I>
bool convert_args(const msgpack::object& args, Tuple& out, std::index_sequence<I...>)
{
    if (args.type != msgpack::type::ARRAY || args.via.array.size != sizeof...(I))
        return false;
    try {
        (args.via.array.ptr[I].convert(std::get<I>(out)), ...);
        return true;
    } catch (...) {
        return false;
    }
}

/// Decodes the arguments, runs `f`, and answers through `r` (see dispatcher::add).
template <class F>
void invoke_bound(F& f, const call_context& ctx, const msgpack::object& args, responder& r)
{
    using traits = function_traits<std::remove_cvref_t<F>>;
    using params = wire_params<typename traits::args_type>;
    using tuple_type = typename params::type;
    using result_type = typename traits::result_type;

    tuple_type values;
    if (!convert_args(args, values, std::make_index_sequence<std::tuple_size_v<tuple_type>>{}))
        return r.fail(error::bad_arguments);
    try {
        auto call = [&]() -> decltype(auto) {
            if constexpr (params::takes_context)
                return std::apply([&](auto&... a) -> decltype(auto) { return f(ctx, std::move(a)...); },
                                  values);
            else
                return std::apply([&](auto&... a) -> decltype(auto) { return f(std::move(a)...); },
                                  values);
        };
        if constexpr (std::is_void_v<result_type>) {
            call();
            r.send();
        } else {
            r.send(call());
        }
    } catch (const std::exception& e) {
        r.fail(error::remote_error, e.what());
    } catch (...) {
        r.fail(error::remote_error, "unknown exception");
    }
}

} // namespace mailroom::detail
