#pragma once

#include <mailroom/client/diagnostics.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/detail/fixed_string.hpp>
#include <mailroom/no_reply.hpp>
#include <mailroom/wire_type.hpp>

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom {

/** Where the stubs of one remote send their calls: the proxy, the names, and (for
    `to_server`) a fixed target. Shared, immutable.
*/
struct stub_context {
    proxy* rpc = nullptr;
    std::string_view ns = "user";
    std::string_view server_type;
    std::string_view service;
    /// Empty: routed by the route parameter; else the server every call goes to.
    std::string target;
    call_options options;

    std::shared_ptr<const stub_context> for_service(std::string_view name) const
    {
        auto c = std::make_shared<stub_context>(*this);
        c->service = name;
        return c;
    }
    std::shared_ptr<const stub_context> to_server(std::string id) const
    {
        auto c = std::make_shared<stub_context>(*this);
        c->target = std::move(id);
        return c;
    }
    std::shared_ptr<const stub_context> with(call_options o) const
    {
        auto c = std::make_shared<stub_context>(*this);
        c->options = o;
        return c;
    }
};

namespace detail {

/// A plain callback (a lambda or function with one signature), as opposed to a token such as
/// `asio::use_awaitable` or a generic lambda.
template <class T>
concept plain_callback = requires { &std::decay_t<T>::operator(); } ||
                         std::is_function_v<std::remove_pointer_t<std::decay_t<T>>>;

template <class R, class Token>
constexpr bool accepts_completion()
{
    using T = typename stub_result<R>::type;
    if constexpr (!plain_callback<Token>)
        return true;
    else if constexpr (std::is_void_v<T>)
        return std::is_invocable_v<std::decay_t<Token>&, std::error_code>;
    else
        return std::is_invocable_v<std::decay_t<Token>&, std::error_code, T>;
}

/// `U` converts to `T` implicitly and without narrowing, tested as std::variant tests it
/// (copy-initialising an array element): a `double` for an `int` parameter is rejected.
template <class T>
struct array_of_one {
    T element[1];
};
template <class T, class U>
concept converts_without_narrowing =
    requires(U&& u) { array_of_one<T>{{std::forward<U>(u)}}; };

/** One argument of a stub call, of the declared parameter type `T`. An lvalue or rvalue of
    type `T` is referred to, not copied; anything else must convert to `T` implicitly and
    without narrowing (`1.5` for an `int` does not compile), and a braced list `{x, y}`
    constructs a `T`. Lives until the end of the call expression, which encodes it.
*/
template <class T>
class stub_arg {
public:
    template <class U>
        requires std::same_as<std::remove_cvref_t<U>, T>
    stub_arg(U&& v) noexcept : value_(&v)
    {
    }

    template <class U>
        requires(!std::same_as<std::remove_cvref_t<U>, T> && converts_without_narrowing<T, U>)
    stub_arg(U&& v) : owned_(std::in_place, std::forward<U>(v)), value_(&*owned_)
    {
    }

    template <class... V>
        requires(sizeof...(V) != 1 && requires(V&&... v) { T{std::forward<V>(v)...}; })
    stub_arg(V&&... v) : owned_(T{std::forward<V>(v)...}), value_(&*owned_)
    {
    }

    stub_arg(const stub_arg&) = delete;
    stub_arg& operator=(const stub_arg&) = delete;

    const T& get() const noexcept { return *value_; }

private:
    std::optional<T> owned_;
    const T* value_;
};

template <class Sig, bool Routed>
class stub_method;

/** One method of a typed stub: `stub.add(route_param, args..., token)` (or without the route
    parameter after `to_server`). The parameter types are the declared ones, so a wrong
    argument does not compile (nor does a narrowing one: `1.5` for an `int`), and neither does
    a callback that cannot take the result.
*/
template <class R, class... A, bool Routed>
class stub_method<R(A...), Routed> {
public:
    using result_type = typename stub_result<R>::type;

    stub_method(std::shared_ptr<const stub_context> ctx, std::string_view method)
        : ctx_(std::move(ctx)), method_(method)
    {
    }

    template <class CompletionToken>
        requires Routed
    auto operator()(const route_param& param, stub_arg<std::remove_cvref_t<A>>... args,
                    CompletionToken&& token) const
    {
        if constexpr (callable<CompletionToken>())
            return send_routed(param, std::tuple<const std::remove_cvref_t<A>&...>(args.get()...),
                               std::forward<CompletionToken>(token));
    }

    template <class CompletionToken>
        requires(!Routed)
    auto operator()(stub_arg<std::remove_cvref_t<A>>... args, CompletionToken&& token) const
    {
        if constexpr (callable<CompletionToken>())
            return send(ctx_->target, std::tuple<const std::remove_cvref_t<A>&...>(args.get()...),
                        std::forward<CompletionToken>(token));
    }

    /** The same calls, filling `diag` with the remote's message when the call fails (see
        @ref diagnostics): `stub.add(route_param, args..., diag, token)`. `diag` must live
        until the call completed; it is filled before the completion handler runs.
    */
    template <class CompletionToken>
        requires(Routed && !std::is_same_v<R, no_reply>)
    auto operator()(const route_param& param, stub_arg<std::remove_cvref_t<A>>... args,
                    diagnostics& diag, CompletionToken&& token) const
    {
        if constexpr (callable<CompletionToken>())
            return send_routed(param, std::tuple<const std::remove_cvref_t<A>&...>(args.get()...),
                               std::forward<CompletionToken>(token), &diag);
    }

    template <class CompletionToken>
        requires(!Routed && !std::is_same_v<R, no_reply>)
    auto operator()(stub_arg<std::remove_cvref_t<A>>... args, diagnostics& diag,
                    CompletionToken&& token) const
    {
        if constexpr (callable<CompletionToken>())
            return send(ctx_->target, std::tuple<const std::remove_cvref_t<A>&...>(args.get()...),
                        std::forward<CompletionToken>(token), &diag);
    }

    /** Broadcast: the same call to every server of the type (pomelo's `toServer('*')`),
        completing once, when all have, with `void(broadcast_result<R>)` (`void` results and
        notifies: `broadcast_result<void>`): each server's result or error, by id. See
        @ref proxy::async_call_all.
    */
    template <class CompletionToken>
        requires Routed
    auto to_all(stub_arg<std::remove_cvref_t<A>>... args, CompletionToken&& token) const
    {
        return ctx_->rpc->template async_call_all<R>(
            path(), std::tuple<const std::remove_cvref_t<A>&...>(args.get()...), ctx_->options,
            std::forward<CompletionToken>(token));
    }

    /// The path this method calls.
    protocol::method_path path() const
    {
        return {ctx_->ns, ctx_->server_type, ctx_->service, method_};
    }

private:
    /** Whether a call with this token is made. A callback that cannot take the completion
        stops at the static_assert, and the call is not instantiated, so no Asio error follows
        it (the operator's return type is then void). A type that cannot travel was reported
        where the remote was declared.
    */
    template <class CompletionToken>
    static constexpr bool callable()
    {
        constexpr bool accepted = accepts_completion<R, CompletionToken>();
        static_assert(accepted,
                      "mailroom: the callback cannot take this method's completion: it must be "
                      "invocable as (std::error_code, R), or (std::error_code) for void and "
                      "notify methods");
        return accepted && wire_signature<R(A...)>::value;
    }

    // Routed and sent by the proxy as one call: one snapshot, and its filters see `param`.
    template <class Args, class CompletionToken>
    auto send_routed(const route_param& param, const Args& args, CompletionToken&& token,
                     diagnostics* diag = nullptr) const
    {
        if constexpr (std::is_same_v<R, no_reply>)
            return ctx_->rpc->async_notify(path(), param, args,
                                           std::forward<CompletionToken>(token));
        else
            return ctx_->rpc->template async_call<R>(path(), param, args, options(diag),
                                                     std::forward<CompletionToken>(token));
    }

    template <class Args, class CompletionToken>
    auto send(const std::string& target, const Args& args, CompletionToken&& token,
              diagnostics* diag = nullptr) const
    {
        if constexpr (std::is_same_v<R, no_reply>)
            return ctx_->rpc->async_notify_to(target, path(), args,
                                              std::forward<CompletionToken>(token));
        else
            return ctx_->rpc->template async_call_to<R>(target, path(), args, options(diag),
                                                        std::forward<CompletionToken>(token));
    }

    call_options options(diagnostics* diag) const
    {
        call_options o = ctx_->options;
        o.diag = diag;
        o.series = &series_;
        return o;
    }

    std::shared_ptr<const stub_context> ctx_;
    std::string_view method_;
    mutable metrics::series_slot series_; // this method's series, found once
};

} // namespace detail

/** The root of an application's typed RPC surface: derive from it and list one
    @ref server_type member per server type.

    @par Example
    @code
    struct cluster_rpc : mailroom::rpc_base {
        using rpc_base::rpc_base;
        mailroom::server_type<"chat", chat_remote> chat{*this};
    };
    // app.rpc.chat.chatRemote.add(session, uid, sid, channel, callback);
    @endcode
*/
class rpc_base {
public:
    explicit rpc_base(proxy& p) : proxy_(&p) {}

    /// The dynamic proxy, for remotes without a C++ declaration.
    proxy& dynamic() const noexcept { return *proxy_; }

    /// The stub context of a server type (used by @ref server_type).
    std::shared_ptr<const stub_context> context_for(std::string_view server_type) const
    {
        auto c = std::make_shared<stub_context>();
        c->rpc = proxy_;
        c->server_type = server_type;
        return c;
    }

private:
    proxy* proxy_;
};

/** The stubs of one server type: `server_type<"chat", chat_remote, ...>` has one member per
    remote, named as the remote is on the wire (`.chatRemote`).
*/
template <detail::fixed_string Type, class... Remotes>
struct server_type : Remotes::member... {
    static constexpr std::string_view name = Type.view();

    explicit server_type(const rpc_base& root) : server_type(root.context_for(name)) {}

private:
    explicit server_type(const std::shared_ptr<const stub_context>& c) : Remotes::member(c)... {}
};

} // namespace mailroom
