#pragma once

#include <mailroom/detail/string_map.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/values.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/responder.hpp>

#include <msgpack.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace mailroom {

namespace metrics {
class call_stats;
}

/** A bound remote method: gets the call, its arguments (an array, in the format of the
    protocol that received the call: `args.msgpack()` for the native protocol) and the
    responder. Runs on the I/O thread that received the call; it may answer later from any
    thread.
*/
using raw_handler =
    std::function<void(const call_context& ctx, const value_view& args, responder r)>;

/** Maps (namespace, service, method) to handlers and runs them.

    @ref add binds a C++ callable in one of three forms, read from its signature: a plain
    function returning its result, a coroutine returning `asio::awaitable<R>`, or a function
    taking a trailing `reply_callback<R>`; each may take a leading `const call_context&`.
    The arguments are converted to the remaining parameter types (`bad_arguments` if they do
    not convert or their count differs), `void` methods answer nil, and an exception becomes
    `remote_error` with its `what()`. Unknown names answer `unknown_service` /
    `unknown_method`.

    Without an executor a handler runs on the I/O thread that read the call. With one (a
    strand per service is what the App uses), every call of that method is posted to it.

    @par Thread safety
    All member functions may be called concurrently. Handlers may run concurrently on
    several I/O threads; they guard their own state.

    @par Example
    @code
    d.add("echo", "upper", [](std::string s) { for (auto& c : s) c = std::toupper(c); return s; });
    d.add("calc", "add", [](const mailroom::call_context& ctx, int a, int b) { return a + b; });
    d.add("calc", "slow", [](int a) -> asio::awaitable<int> { co_return a; }, strand);
    @endcode
*/
class dispatcher {
public:
    /// Binds `f` as `ns.service.method`, run on the I/O thread. Replaces an existing binding.
    template <class F>
    void add(std::string_view service, std::string_view method, F f, std::string_view ns = "user");

    /// Binds `f` as `ns.service.method`, every call posted to `ex`.
    template <class F>
    void add(std::string_view service, std::string_view method, F f, asio::any_io_executor ex,
             std::string_view ns = "user");

    /// Binds a raw handler as `ns.service.method`.
    void add_raw(std::string_view ns, std::string_view service, std::string_view method,
                 raw_handler h);

    /** Binds a raw handler written against msgpack arguments (`const msgpack::object&`, the
        form before protocols were pluggable): it runs for calls of the native protocol; a
        call whose arguments came as JSON is answered `bad_arguments`.
    */
    template <class F>
        requires(std::is_invocable_v<F&, const call_context&, const msgpack::object&, responder> &&
                 !std::is_invocable_v<F&, const call_context&, const value_view&, responder>)
    void add_raw(std::string_view ns, std::string_view service, std::string_view method, F h)
    {
        add_raw(ns, service, method,
                raw_handler([h = std::move(h)](const call_context& ctx, const value_view& args,
                                               responder r) mutable {
                    if (args.json())
                        return r.fail(error::bad_arguments, "this method takes msgpack arguments");
                    h(ctx, args.msgpack(), std::move(r));
                }));
    }

    /// Runs the handler for `ctx.path`, or answers the lookup error through `r`; a call past
    /// `ctx.deadline` is answered `deadline_exceeded` without running.
    void dispatch(const call_context& ctx, const value_view& args, responder r) const
    {
        dispatch(ctx, args, std::move(r), std::chrono::steady_clock::now());
    }

    /** Remembers the last few methods one connection called, so that a stream of calls to
        the same methods skips the shared lock and the hash lookups. Any change to the
        dispatcher invalidates it.
        @par Thread safety
        Distinct objects: safe. Shared objects: unsafe (one per connection).
    */
    class lookup_cache {
    public:
        static constexpr std::size_t capacity = 4;

    private:
        friend class dispatcher;
        struct entry {
            std::string ns, service, method;
            std::shared_ptr<const raw_handler> handler;
            std::uint64_t version = 0;
            metrics::call_stats* series = nullptr;
        };
        std::array<entry, capacity> entries_;
        std::size_t next_ = 0;
    };

    /** A method looked up through a @ref lookup_cache. Its pointers are into the cache:
        valid until the next lookup through it, or until it is moved or destroyed.
    */
    struct found_method {
        /// The handler, or null with `ec` set to `unknown_service` or `unknown_method`.
        const raw_handler* handler = nullptr;
        std::error_code ec;
        /** Beside the cached entry (null for a method not found): the server keeps the
            method's metrics series there, so that a call finds it without comparing names
            again. Null again whenever the entry is replaced.
        */
        metrics::call_stats** series = nullptr;
    };

    /// Looks `path` up through `cache`: a hit needs no lock.
    found_method lookup(const protocol::method_path& path, lookup_cache& cache) const;

    /// Same, with the current time already read by the caller, and (optionally) a cache of
    /// this caller's recent lookups.
    void dispatch(const call_context& ctx, const value_view& args, responder r,
                  std::chrono::steady_clock::time_point now,
                  lookup_cache* cache = nullptr) const;

    /// Same, with the method already looked up (`m` from @ref lookup for `ctx.path`).
    void dispatch(const call_context& ctx, const value_view& args, responder r,
                  std::chrono::steady_clock::time_point now, const found_method& m) const;

    /// Looks a method up: `unknown_service`, `unknown_method`, or success with `out` set.
    std::error_code find(const protocol::method_path& path, raw_handler& out) const;

    /** Looks a method up without copying its handler: the handler, or null with `ec` set to
        `unknown_service` or `unknown_method`. The handler stays valid while the pointer
        lives, even if the method is bound again meanwhile.
    */
    std::shared_ptr<const raw_handler> lookup(const protocol::method_path& path,
                                              std::error_code& ec) const;

    /// "ns.service.method" of every bound method, sorted.
    std::vector<std::string> methods() const;

private:
    template <class F>
    void bind(std::string_view service, std::string_view method, F f,
              std::optional<asio::any_io_executor> ex, std::string_view ns);

    static std::string service_key(std::string_view ns, std::string_view service);

    mutable std::shared_mutex mu_;
    std::atomic<std::uint64_t> version_{1}; // bumped by every change
    // ns + '\0' + service -> method -> handler
    detail::string_map<detail::string_map<std::shared_ptr<const raw_handler>>> services_;
};

} // namespace mailroom

#include <mailroom/server/impl/dispatcher.hpp>
