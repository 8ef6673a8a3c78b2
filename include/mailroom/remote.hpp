#pragma once

#include <mailroom/client/stub.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/no_reply.hpp>
#include <mailroom/server/detail/bind_declared.hpp>
#include <mailroom/server/dispatcher.hpp>
#include <mailroom/wire_type.hpp>

#include <boost/preprocessor/cat.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/seq/variadic_seq_to_seq.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/tuple/elem.hpp>
#include <boost/preprocessor/tuple/enum.hpp>
#include <boost/preprocessor/tuple/pop_front.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

/// One method of a remote, as introspection lists it.
struct method_info {
    std::string_view name;
    /// The declared signature, as written: "int(int a, int b)".
    std::string_view signature;
};

} // namespace mailroom

/** Declares a remote contract once, in a header shared by caller and callee.

    @code
    MAILROOM_REMOTE(chat_remote, chatRemote,
        (add, void(std::string uid, std::string sid, std::string channel))
        (get, std::vector<std::string>(std::string channel))
        (kick, mailroom::no_reply(std::string uid)));
    @endcode

    declares `struct chat_remote` with:
    - `chat_remote::name` — the wire name, "chatRemote";
    - `chat_remote::bind(dispatcher, impl, executor = {}, ns = "user")` — binds
      `impl.add`, `impl.get`, `impl.kick` (each in any handler form: plain, coroutine, reply
      callback, with or without `const call_context&`), checking at compile time that every
      implementation matches its declaration;
    - `chat_remote::stub` — `stub.add(route_param, uid, sid, channel, token)` with the
      declared parameter types, `stub.to_server(id).add(uid, sid, channel, token)`, and
      `stub.with(call_options{...})`;
    - `chat_remote::member` — what @ref mailroom::server_type inherits, so that
      `app.rpc.chat.chatRemote` exists;
    - `chat_remote::methods()` — names and declared signatures, for introspection.

    Each method is `(name, result(parameters))`; `mailroom::no_reply` as the result makes
    it a notify. Every parameter and result must be a @ref mailroom::wire_type: a struct of
    your own travels with `MSGPACK_DEFINE_MAP(fields...)` (from `<msgpack.hpp>`, which this
    header includes); a type that cannot travel fails here with a message naming it. Types with commas are fine; implementation methods must not be overloaded.
*/
#define MAILROOM_REMOTE(type, wire_name, method_list)                                               \
    struct type {                                                                               \
        static constexpr std::string_view name = #wire_name;                                    \
        MAILROOM_DETAIL_REMOTE_EACH_WITH(MAILROOM_DETAIL_REMOTE_SIGNATURE, wire_name, method_list)  \
        static std::vector<::mailroom::method_info> methods()                                  \
        {                                                                                       \
            std::vector<::mailroom::method_info> out;                                           \
            MAILROOM_DETAIL_REMOTE_EACH(MAILROOM_DETAIL_REMOTE_INFO, method_list)                   \
            return out;                                                                         \
        }                                                                                       \
        template <class Impl>                                                                   \
        static void bind(::mailroom::dispatcher& d, Impl& impl,                                 \
                         const std::optional<::mailroom::asio::any_io_executor>& ex = {},      \
                         std::string_view ns = "user")                                          \
        {                                                                                       \
            MAILROOM_DETAIL_REMOTE_EACH_WITH(MAILROOM_DETAIL_REMOTE_BIND, wire_name, method_list)   \
        }                                                                                       \
        template <bool Routed>                                                                  \
        struct basic_stub {                                                                     \
            std::shared_ptr<const ::mailroom::stub_context> context;                            \
            MAILROOM_DETAIL_REMOTE_EACH(MAILROOM_DETAIL_REMOTE_MEMBER, method_list)                 \
            explicit basic_stub(std::shared_ptr<const ::mailroom::stub_context> c)              \
                : context(c) MAILROOM_DETAIL_REMOTE_EACH(MAILROOM_DETAIL_REMOTE_INIT, method_list)  \
            {                                                                                   \
            }                                                                                   \
            /** The same methods, sent to server `id` without routing. */                       \
            basic_stub<false> to_server(std::string id) const                                   \
            {                                                                                   \
                return basic_stub<false>(context->to_server(std::move(id)));                    \
            }                                                                                   \
            /** The same methods with other call options (e.g. a timeout). */                   \
            basic_stub with(::mailroom::call_options o) const                                   \
            {                                                                                   \
                return basic_stub(context->with(o));                                            \
            }                                                                                   \
        };                                                                                      \
        using stub = basic_stub<true>;                                                          \
        struct member {                                                                         \
            stub wire_name;                                                                     \
            explicit member(const std::shared_ptr<const ::mailroom::stub_context>& c)           \
                : wire_name(c->for_service(name))                                               \
            {                                                                                   \
            }                                                                                   \
        };                                                                                      \
    }

#define MAILROOM_DETAIL_REMOTE_EACH(macro, methods)                                             \
    BOOST_PP_SEQ_FOR_EACH(macro, _, BOOST_PP_VARIADIC_SEQ_TO_SEQ(methods))
#define MAILROOM_DETAIL_REMOTE_EACH_WITH(macro, data, methods)                                  \
    BOOST_PP_SEQ_FOR_EACH(macro, data, BOOST_PP_VARIADIC_SEQ_TO_SEQ(methods))
#define MAILROOM_DETAIL_REMOTE_NAME(m) BOOST_PP_TUPLE_ELEM(0, m)
#define MAILROOM_DETAIL_REMOTE_SIG(m) BOOST_PP_TUPLE_ENUM(BOOST_PP_TUPLE_POP_FRONT(m))
#define MAILROOM_DETAIL_REMOTE_STR(...) #__VA_ARGS__
#define MAILROOM_DETAIL_REMOTE_XSTR(...) MAILROOM_DETAIL_REMOTE_STR(__VA_ARGS__)
#define MAILROOM_DETAIL_REMOTE_ALIAS(m) BOOST_PP_CAT(MAILROOM_DETAIL_REMOTE_NAME(m), _signature)

#define MAILROOM_DETAIL_REMOTE_SIGNATURE(r, wire, m)                                            \
    using MAILROOM_DETAIL_REMOTE_ALIAS(m) = MAILROOM_DETAIL_REMOTE_SIG(m);                      \
    static_assert(::mailroom::detail::wire_signature<MAILROOM_DETAIL_REMOTE_ALIAS(m)>::value,   \
                  "mailroom: " MAILROOM_DETAIL_REMOTE_METHOD_STR(wire, m)                       \
                  ": a parameter or the result cannot travel (the error above names its type)");
#define MAILROOM_DETAIL_REMOTE_INFO(r, data, m)                                                 \
    out.push_back({BOOST_PP_STRINGIZE(MAILROOM_DETAIL_REMOTE_NAME(m)),                          \
                   MAILROOM_DETAIL_REMOTE_XSTR(MAILROOM_DETAIL_REMOTE_SIG(m))});
// The checks live here, not in bind_declared, so that the message names the method and its
// declaration; a failed check binds nothing, so no further error follows it.
#define MAILROOM_DETAIL_REMOTE_BIND(r, wire, m)                                                 \
    {                                                                                           \
        using declared_signature = MAILROOM_DETAIL_REMOTE_ALIAS(m);                             \
        using implementation = decltype(&Impl::MAILROOM_DETAIL_REMOTE_NAME(m));                 \
        constexpr bool same_parameters =                                                        \
            ::mailroom::detail::same_parameters<declared_signature, implementation>();          \
        constexpr bool same_result =                                                            \
            ::mailroom::detail::same_result<declared_signature, implementation>();              \
        static_assert(same_parameters,                                                          \
                      "mailroom: " MAILROOM_DETAIL_REMOTE_METHOD_STR(wire, m)                   \
                      ": the implementation's parameters differ from the remote's declaration " \
                      MAILROOM_DETAIL_REMOTE_XSTR(MAILROOM_DETAIL_REMOTE_SIG(m)));              \
        static_assert(same_result,                                                              \
                      "mailroom: " MAILROOM_DETAIL_REMOTE_METHOD_STR(wire, m)                   \
                      ": the implementation's result differs from the remote's declaration "    \
                      MAILROOM_DETAIL_REMOTE_XSTR(MAILROOM_DETAIL_REMOTE_SIG(m)));              \
        if constexpr (same_parameters && same_result &&                                         \
                      ::mailroom::detail::wire_signature<declared_signature>::value)            \
            ::mailroom::detail::bind_declared<declared_signature>(                              \
                d, ns, name, BOOST_PP_STRINGIZE(MAILROOM_DETAIL_REMOTE_NAME(m)), impl,          \
                &Impl::MAILROOM_DETAIL_REMOTE_NAME(m), ex);                                     \
    }
#define MAILROOM_DETAIL_REMOTE_METHOD_STR(wire, m)                                              \
    BOOST_PP_STRINGIZE(wire) "." BOOST_PP_STRINGIZE(MAILROOM_DETAIL_REMOTE_NAME(m))
#define MAILROOM_DETAIL_REMOTE_MEMBER(r, data, m)                                               \
    ::mailroom::detail::stub_method<MAILROOM_DETAIL_REMOTE_ALIAS(m), Routed>                    \
        MAILROOM_DETAIL_REMOTE_NAME(m);
#define MAILROOM_DETAIL_REMOTE_INIT(r, data, m)                                                 \
    , MAILROOM_DETAIL_REMOTE_NAME(m)(c, BOOST_PP_STRINGIZE(MAILROOM_DETAIL_REMOTE_NAME(m)))
