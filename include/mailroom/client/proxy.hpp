#pragma once

#include <mailroom/client/broadcast.hpp>
#include <mailroom/client/detail/call_pipeline.hpp>
#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/client/detail/typed_completion.hpp>
#include <mailroom/client/failure_policy.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/reply.hpp>
#include <mailroom/client/route_param.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/metrics/registry.hpp>
#include <mailroom/protocol/message.hpp>

#include <boost/asio/async_result.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace mailroom {

/** The dynamic proxy: calls any remote by name, routed by a @ref router to a server whose
    mail box the @ref mail_station provides.

    Every call takes an Asio completion token and completes with `void(std::error_code, R)`
    (`void(std::error_code)` for `R = void` and for notifies): a callback, `asio::use_awaitable`
    or `asio::use_future`. `R` defaults to @ref reply, the raw result (msgpack or JSON, as the
    server's protocol wrote it) plus the remote's error message. The arguments are encoded as
    one array (pass a `std::tuple`) by the protocol of the server the call is routed to; an
    argument with no form in its format fails the call with `not_encodable`, never sent.

    A call is one object from here to its completion: it takes one snapshot of the station's
    servers, routes on it and is sent on it (every attempt); the route function runs, and the
    arguments are encoded, in the calling thread before the function returns, so `path`,
    `param` and `args` need only live until then, even when the token starts the operation
    later (`asio::use_awaitable`). Client filters see the route parameter's key and number
    (`filter_call::param`, an owned copy) for the whole call. A @ref failure_policy (see
    @ref policies) may send a failed call again. The handler runs exactly once, on its
    associated executor (the station's executor if it has none), never inside the call that
    started it.

    A call without client filters and without a failure policy allocates nothing of its own
    (beyond what its completion token needs): its completion lives in the station's
    pending-call slot.

    @par Thread safety
    All member functions may be called from any thread, concurrently.

    @par Example
    @code
    mailroom::proxy rpc(station, router);
    int sum = co_await rpc.async_call<int>({.server_type = "math", .service = "calc",
                                            .method = "add"}, "user-42", std::tuple{1, 2},
                                           asio::use_awaitable);
    @endcode
*/
class proxy {
public:
    using executor_type = mail_station::executor_type;

    /// All must outlive the proxy, and the station also the calls made through it (a filter
    /// that continues later, or a retry, sends on it). `filters`, if given, run around every
    /// call.
    proxy(mail_station& station, const router& router,
          const client_filters* filters = nullptr) noexcept
        : station_(station), router_(router), filters_(filters)
    {
    }

    executor_type get_executor() const noexcept { return station_.get_executor(); }

    /// Calls `path` on the server the router picks for `param`.
    template <class R = reply, class Args, class CompletionToken>
    auto async_call(const protocol::method_path& path, const route_param& param, const Args& args,
                    call_options options, CompletionToken&& token);

    template <class R = reply, class Args, class CompletionToken>
    auto async_call(const protocol::method_path& path, const route_param& param, const Args& args,
                    CompletionToken&& token)
    {
        return async_call<R>(path, param, args, call_options{},
                             std::forward<CompletionToken>(token));
    }

    /// Calls `path` on the server `server_id`, bypassing the router.
    template <class R = reply, class Args, class CompletionToken>
    auto async_call_to(std::string_view server_id, const protocol::method_path& path,
                       const Args& args, call_options options, CompletionToken&& token);

    template <class R = reply, class Args, class CompletionToken>
    auto async_call_to(std::string_view server_id, const protocol::method_path& path,
                       const Args& args, CompletionToken&& token)
    {
        return async_call_to<R>(server_id, path, args, call_options{},
                                std::forward<CompletionToken>(token));
    }

    /** Sends a notify (no response) routed by `param`. Completes with `void(std::error_code)`
        once the frame is handed to a connected mail box, or with the error that stopped it.
    */
    template <class Args, class CompletionToken>
    auto async_notify(const protocol::method_path& path, const route_param& param,
                      const Args& args, CompletionToken&& token);

    /// Sends a notify to `server_id`.
    template <class Args, class CompletionToken>
    auto async_notify_to(std::string_view server_id, const protocol::method_path& path,
                         const Args& args, CompletionToken&& token);

    /** Calls `path` on every server of `path.server_type` in the station's current table,
        each as a call of its own to that server (as @ref async_call_to: the filters run for
        each, a failure policy never moves one), and completes once, when all have, with
        `void(broadcast_result<R>)`: every server's result or error, by id. A server that is
        down yields its error there; no server of the type yields an empty map. The handler
        runs on its associated executor (the station's by default), never inside this call.
        pomelo's `toServer('*')`.
    */
    template <class R = reply, class Args, class CompletionToken>
    auto async_call_all(const protocol::method_path& path, const Args& args,
                        call_options options, CompletionToken&& token);

    template <class R = reply, class Args, class CompletionToken>
    auto async_call_all(const protocol::method_path& path, const Args& args,
                        CompletionToken&& token)
    {
        return async_call_all<R>(path, args, call_options{},
                                 std::forward<CompletionToken>(token));
    }

    /** Sends a notify to every server of `path.server_type`; completes once with
        `void(broadcast_result<void>)`: each server's outcome as @ref async_notify_to reports
        it.
    */
    template <class Args, class CompletionToken>
    auto async_notify_all(const protocol::method_path& path, const Args& args,
                          CompletionToken&& token);

    /// The server the router picks for a call (empty if none).
    std::string route(const protocol::method_path& path, const route_param& param) const
    {
        auto view = detail::view_of(station_);
        return router_.route(param, path, detail::context_of(*view));
    }

    /** The failure policies of this proxy's calls (none by default: failfast). A call takes
        the policy of its server type when it is made.
    */
    failure_policies& policies() noexcept { return policies_; }

    /** Counts every call made from now on in `m` (null: none), which must outlive the calls
        (the App sets its own registry before it starts). Not synchronised: set it before
        making calls.
    */
    void set_metrics(metrics::registry* m) noexcept { metrics_ = m; }

private:
    /// A call of `path` to `target`, routed (if `routed`) on `view` for `param` (may be null).
    template <class Args>
    detail::call make_call(detail::station_view_ptr&& view, std::string&& target, bool routed,
                           const protocol::method_path& path, const route_param* param,
                           const Args& args, call_options& options);

    template <class Args>
    detail::call make_notify(detail::station_view_ptr&& view, std::string&& target, bool routed,
                             const protocol::method_path& path, const route_param* param,
                             const Args& args);

    /** Fills the call's extras when filters or a failure policy apply to it, with a copy of
        `args` if the call might have to be encoded again for another protocol.
    */
    template <class Args>
    void add_extras(detail::call& c, const protocol::method_path& path, const route_param* param,
                    bool routed, const Args& args) const
    {
        if ((!filters_ || filters_->empty()) && policies_.empty())
            return;
        detail::add_extras(c, path, param, routed, filters_, policies_);
        if (c.extras && !detail::one_protocol(*c.view))
            c.extras->args =
                std::make_shared<value_copy<typename detail::owned_args<Args>::type>>(args);
    }

    mail_station& station_;
    const router& router_;
    const client_filters* filters_;
    failure_policies policies_;
    metrics::registry* metrics_ = nullptr;

    /// Names the series that count the call `c` to `path`, if this proxy counts calls; the
    /// initiation starts counting (a lazy token may never start the call).
    void meter(detail::call& c, const protocol::method_path& path) const
    {
        // Read here only: a temporary stub's slot may be gone while the call runs.
        auto* slot = std::exchange(c.options.series, nullptr);
        if (!metrics_)
            return;
        c.metrics = metrics_;
        c.meter.method =
            slot ? metrics_->client_method(path, *slot) : metrics_->client_method_cached(path);
        if (!c.target.empty())
            c.meter.peer = metrics_->peer_cached(c.target, path.server_type);
    }
};

} // namespace mailroom

#include <mailroom/client/impl/proxy.hpp>
