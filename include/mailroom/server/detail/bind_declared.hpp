#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/no_reply.hpp>
#include <mailroom/server/detail/handler_traits.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

/// A member function bound to its object, keeping the member's exact signature (so
/// handler_traits can read its form).
template <class PM>
struct member_call;

template <class C, class R, class... A>
struct member_call<R (C::*)(A...)> {
    C* obj;
    R (C::*pm)(A...);
    R operator()(A... a) const { return (obj->*pm)(std::forward<A>(a)...); }
};

template <class C, class R, class... A>
struct member_call<R (C::*)(A...) const> {
    const C* obj;
    R (C::*pm)(A...) const;
    R operator()(A... a) const { return (obj->*pm)(std::forward<A>(a)...); }
};

template <class Sig>
struct declared;

template <class R, class... A>
struct declared<R(A...)> {
    using wire_args = std::tuple<std::remove_cvref_t<A>...>;
    using value_type = std::conditional_t<std::is_same_v<R, no_reply>, void, R>;
};

/// The implementation `PM` (a member function pointer, in any handler form) takes the
/// declared parameters.
template <class Sig, class PM>
constexpr bool same_parameters()
{
    return std::is_same_v<typename handler_traits<member_call<PM>>::wire_args,
                          typename declared<Sig>::wire_args>;
}

/// The implementation `PM` answers the declared result.
template <class Sig, class PM>
constexpr bool same_result()
{
    return std::is_same_v<std::remove_cvref_t<typename handler_traits<member_call<PM>>::value_type>,
                          typename declared<Sig>::value_type>;
}

/** Binds `impl.*pm` as the implementation of a declared method, after checking at compile
    time that its form's arguments and result are the declared ones.
*/
template <class Sig, class Impl, class PM>
void bind_declared(dispatcher& d, std::string_view ns, std::string_view service,
                   std::string_view method, Impl& impl, PM pm,
                   const std::optional<asio::any_io_executor>& ex)
{
    using call = member_call<PM>;
    static_assert(same_parameters<Sig, PM>(),
                  "mailroom: the implementation's parameters differ from the remote's declaration");
    static_assert(same_result<Sig, PM>(),
                  "mailroom: the implementation's result differs from the remote's declaration");
    call f{&impl, pm};
    if (ex)
        d.add(service, method, f, *ex, ns);
    else
        d.add(service, method, f, ns);
}

} // namespace mailroom::detail
