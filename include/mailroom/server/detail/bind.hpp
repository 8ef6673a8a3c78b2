#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/values.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/detail/handler_traits.hpp>
#include <mailroom/server/reply_callback.hpp>
#include <mailroom/server/responder.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <msgpack.hpp>

#include <chrono>
#include <exception>
#include <system_error>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

/// The name of `T` as the compiler spells it (`std::string` for the common case).
template <class T>
std::string_view type_name() noexcept
{
    if constexpr (std::is_same_v<T, std::string>) {
        return "std::string";
    } else {
        // g++: "... type_name() [with T = int; std::string_view = ...]"; clang: "[T = int]".
        std::string_view p = __PRETTY_FUNCTION__;
        auto a = p.find("T = ");
        if (a == p.npos)
            return "?";
        a += 4;
        return p.substr(a, p.find_first_of(";]", a) - a);
    }
}

template <class T>
bool convert_arg(const value_view& v, T& out, std::size_t index, std::size_t count,
                 std::string& why)
{
    if (v.convert(out))
        return true;
    why = "argument " + std::to_string(index + 1) + " of " + std::to_string(count) +
          ": expected " + std::string(type_name<T>()) + ", got " + std::string(v.kind());
    return false;
}

/** Converts an array of arguments (msgpack or JSON) into the parameter tuple; false if the
    count or a type differs, with `why` naming the argument ("argument 2 of 2: expected int,
    got a string").
*/
template <class Tuple, std::size_t... I>
bool convert_args(const value_view& args, Tuple& out, std::index_sequence<I...>,
                  std::string& why)
{
    constexpr std::size_t n = sizeof...(I);
    if (!args.is_array()) {
        why = "expected an array of " + std::to_string(n) + " arguments, got " +
              std::string(args.kind());
        return false;
    }
    if (args.size() != n) {
        why = "expected " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + ", got " +
              std::to_string(args.size());
        return false;
    }
    return (convert_arg(args[I], std::get<I>(out), I, n, why) && ...);
}

/** A call_context that owns its strings, for handlers that run after the received bytes are
    gone (posted to an executor, or coroutines).
*/
class owned_call_context {
public:
    explicit owned_call_context(const call_context& c)
        : caller_id_(c.caller_id), ns_(c.path.ns), server_type_(c.path.server_type),
          service_(c.path.service), method_(c.path.method), ctx_(c)
    {
        ctx_.caller_id = caller_id_;
        ctx_.path = {ns_, server_type_, service_, method_};
    }
    owned_call_context(const owned_call_context&) = delete;
    owned_call_context& operator=(const owned_call_context&) = delete;

    call_context& get() noexcept { return ctx_; }

private:
    std::string caller_id_, ns_, server_type_, service_, method_;
    call_context ctx_;
};

/// Calls `f` with the context (if it takes one), the decoded values and `extra...`.
template <class F, class Tuple, class... Extra>
decltype(auto) apply_handler(F& f, const call_context& ctx, Tuple& values, Extra&&... extra)
{
    return std::apply(
        [&](auto&... a) -> decltype(auto) {
            if constexpr (handler_traits<F>::takes_context)
                return f(ctx, std::move(a)..., std::forward<Extra>(extra)...);
            else
                return f(std::move(a)..., std::forward<Extra>(extra)...);
        },
        values);
}

/// Answers the exception being handled: a `std::system_error` of mailroom's category keeps
/// its code (a handler may rethrow what a call of its own failed with); anything else is
/// `remote_error` with its `what()`.
template <class Answer>
void answer_exception(Answer&& fail)
{
    try {
        throw;
    } catch (const std::system_error& e) {
        if (e.code().category() == error_category())
            fail(e.code(), e.what());
        else
            fail(error::remote_error, e.what());
    } catch (const std::exception& e) {
        fail(error::remote_error, e.what());
    } catch (...) {
        fail(error::remote_error, "unknown exception");
    }
}

/// Runs a plain or reply-callback handler now and answers through `r`.
template <class F, class Tuple>
void run_now(F& f, const call_context& ctx, Tuple& values, responder& r)
{
    using traits = handler_traits<F>;
    // Calls the body makes continue this call's trace without being told (current_trace).
    trace_scope scope(ctx.trace);
    if constexpr (traits::takes_reply) {
        // The callback shares the responder, so an exception can still answer if the
        // handler had not.
        reply_callback<typename traits::value_type> cb(std::move(r));
        try {
            apply_handler(f, ctx, values, cb);
        } catch (...) {
            if (cb.owed())
                answer_exception([&](std::error_code ec, const char* m) { cb.fail(ec, m); });
        }
    } else {
        try {
            if constexpr (std::is_void_v<typename traits::result_type>) {
                apply_handler(f, ctx, values);
                r.send();
            } else {
                r.send(apply_handler(f, ctx, values));
            }
        } catch (...) {
            answer_exception([&](std::error_code ec, const char* m) { r.fail(ec, m); });
        }
    }
}

/// Answers a finished coroutine handler.
template <class V>
struct coroutine_completion {
    responder r;

    void operator()(std::exception_ptr e) requires std::is_void_v<V>
    {
        if (!e)
            return r.send();
        fail(e);
    }

    template <class T>
    void operator()(std::exception_ptr e, T&& value) requires(!std::is_void_v<V>)
    {
        if (!e)
            return r.send(value);
        fail(e);
    }

    void fail(std::exception_ptr e)
    {
        try {
            std::rethrow_exception(e);
        } catch (...) {
            answer_exception([&](std::error_code ec, const char* m) { r.fail(ec, m); });
        }
    }
};

/** Decodes the arguments of one call and runs `f` in its form (see handler_traits): inline
    when no executor is given (coroutines then start on the connection's executor),
    otherwise posted to `ex` with an owned copy of the context.
*/
template <class F>
void invoke_handler(const std::shared_ptr<F>& f, const std::optional<asio::any_io_executor>& ex,
                    const call_context& ctx, const value_view& args, responder r)
{
    using traits = handler_traits<F>;
    using values_type = typename traits::wire_args;
    values_type values;
    std::string why;
    if (!convert_args(args, values, std::make_index_sequence<std::tuple_size_v<values_type>>{},
                      why))
        return r.fail(error::bad_arguments, why);

    if constexpr (!traits::is_coroutine) {
        if (!ex)
            return run_now(*f, ctx, values, r);
    }
    auto owned = std::make_unique<owned_call_context>(ctx);
    auto exec = ex ? *ex : ctx.executor;
    owned->get().executor = exec;
    if constexpr (traits::is_coroutine) {
        using V = typename traits::value_type;
        asio::co_spawn(
            exec,
            [f, values = std::move(values), owned = std::move(owned)]() mutable -> asio::awaitable<V> {
                if (std::chrono::steady_clock::now() >= owned->get().deadline)
                    throw std::system_error(error::deadline_exceeded);
                if constexpr (std::is_void_v<V>)
                    co_await apply_handler(*f, owned->get(), values);
                else
                    co_return co_await apply_handler(*f, owned->get(), values);
            },
            coroutine_completion<V>{std::move(r)});
    } else {
        asio::post(exec, [f, values = std::move(values), owned = std::move(owned),
                          r = std::move(r)]() mutable {
            // Queued behind other calls of the service until the caller gave up: skip it.
            if (std::chrono::steady_clock::now() >= owned->get().deadline)
                return r.fail(error::deadline_exceeded);
            run_now(*f, owned->get(), values, r);
        });
    }
}

} // namespace mailroom::detail
