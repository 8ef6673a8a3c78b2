#pragma once

#include <mailroom/detail/unique_function.hpp>
#include <mailroom/protocol/values.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <utility>

namespace mailroom {
namespace detail {

/// The context of a call about to be made: a new span of `parent`, else of the handler
/// running on this thread, else a new trace.
inline trace_context outgoing_trace(const trace_context& parent) noexcept
{
    if (parent.valid())
        return parent.child();
    return current_trace().child(); // an empty current context yields a new root
}

/** A completion that counts the call's end in its metrics first: the remote's error, if it
    answered one, is the call's outcome.
*/
template <class Done>
struct metered_completion {
    Done done;
    metrics::call_meter meter;

    void operator()(std::error_code ec, const protocol::response_view* rv)
    {
        meter.finish(!ec && rv && rv->code ? std::error_code(rv->code, error_category()) : ec);
        done(ec, rv);
    }

    void operator()(std::error_code ec)
    {
        meter.finish(ec);
        done(ec);
    }
};

/** Starts `c` with `Initiation::start`, its completion a `Completion(handler, executor)`,
    wrapped to count the call's end first if the call is counted (which starts now).
*/
template <class Initiation, class Completion, class Handler>
void start_counted(call&& c, Handler&& handler)
{
    if (c.meter) {
        c.started_at = deadline_clock::now();
        c.meter.begin(c.started_at);
        const auto meter = c.meter;
        return Initiation::start(std::move(c), [&](const asio::any_io_executor& ex) {
            return metered_completion<Completion>{
                Completion(std::forward<Handler>(handler), ex), meter};
        });
    }
    Initiation::start(std::move(c), [&](const asio::any_io_executor& ex) {
        return Completion(std::forward<Handler>(handler), ex);
    });
}

/** Starts a call made by the proxy, once the completion handler is known. It holds nothing of
    the caller's: the call it gets is owned (this may run after the caller's frame is gone).
    The call is taken by reference, where the token keeps it: the fast path moves no more
    than the frame, once, into the station.
*/
template <class R>
struct call_initiation {
    template <class Handler>
    void operator()(Handler handler, call&& c) const
    {
        start_counted<call_initiation, typed_completion<R, Handler, asio::any_io_executor>>(
            std::move(c), std::move(handler));
    }

    /// Starts `c` with the completion `make(executor)` returns.
    template <class Make>
    static void start(call&& c, Make make)
    {
        diagnostics* diag = c.options.diag; // opt-in: gets the remote's message first
        if (!c.extras) { // the fast path: the completion is the call's only state
            auto done = make(executor_ref(*c.station));
            if (c.encode_error) [[unlikely]]
                return fail_request(*c.station, call_handler(std::move(done)), c.encode_error);
            if (diag)
                return send_request(*c.station, c.view, c.target, c.id, std::move(c.f),
                                    c.options, with_diagnostics(diag, std::move(done)),
                                    c.started_at);
            return send_request(*c.station, c.view, c.target, c.id, std::move(c.f), c.options,
                                std::move(done), c.started_at);
        }
        pipeline_start p(std::move(c));
        auto done = make(p.executor()); // the call's own executor: it may outlive the station
        if (diag)
            return std::move(p).run(call_handler(with_diagnostics(diag, std::move(done))));
        std::move(p).run(call_handler(std::move(done)));
    }

    /// Copies the message of a failed response into the caller's diagnostics, then completes.
    template <class Done>
    static auto with_diagnostics(diagnostics* diag, Done&& done)
    {
        return [diag, done = std::forward<Done>(done)](std::error_code ec,
                                                       const protocol::response_view* rv) mutable {
            if (!ec && rv && rv->code != 0)
                diag->set_remote_message(rv->message);
            done(ec, rv);
        };
    }
};

struct notify_initiation {
    template <class Handler>
    void operator()(Handler handler, call&& c) const
    {
        start_counted<notify_initiation, status_completion<Handler, asio::any_io_executor>>(
            std::move(c), std::move(handler));
    }

    template <class Make>
    static void start(call&& c, Make make)
    {
        if (!c.extras) {
            auto done = make(executor_ref(*c.station));
            if (c.encode_error) [[unlikely]]
                return fail_notify(*c.station, status_handler(std::move(done)), c.encode_error);
            return send_notify(*c.station, c.view, c.target, std::move(c.f), std::move(done));
        }
        pipeline_start p(std::move(c));
        const auto& ex = p.executor();
        std::move(p).run(status_handler(make(ex)));
    }
};

/** The outcomes of a broadcast as its calls complete (on any thread, possibly before the
    initiation has given the handler: a lazy token starts it later), and the handler once
    both the last outcome and the handler are there.
*/
template <class T>
class broadcast_state {
public:
    explicit broadcast_state(std::size_t calls) : left_(calls) {}

    void done(const std::string& server_id, server_outcome<T> outcome)
    {
        std::unique_lock lock(mu_);
        results_.insert_or_assign(server_id, std::move(outcome));
        --left_;
        finish(lock);
    }

    /// Gives the handler; it runs (posted to `ex`) once every call is done.
    template <class Handler>
    void start(Handler handler, const asio::any_io_executor& station_ex)
    {
        auto ex = asio::get_associated_executor(handler, station_ex);
        std::unique_lock lock(mu_);
        handler_ = [h = std::move(handler), work = asio::make_work_guard(ex)](
                       broadcast_result<T> r) mutable {
            auto ex = work.get_executor();
            asio::post(ex, [h = std::move(h), r = std::move(r), work = std::move(work)]() mutable {
                h(std::move(r));
            });
        };
        finish(lock);
    }

private:
    void finish(std::unique_lock<std::mutex>& lock)
    {
        if (left_ != 0 || !handler_)
            return;
        auto h = std::move(handler_);
        auto r = std::move(results_);
        lock.unlock();
        h(std::move(r));
    }

    std::mutex mu_;
    std::size_t left_;
    broadcast_result<T> results_;
    unique_function<void(broadcast_result<T>)> handler_;
};

} // namespace detail

template <class R, class Args, class CompletionToken>
auto proxy::async_call_all(const protocol::method_path& path, const Args& args,
                           call_options options, CompletionToken&& token)
{
    using value = detail::broadcast_value_t<R>;
    auto view = detail::view_of(station_);
    const auto servers = detail::table_of(*view).of_type(path.server_type);
    auto state = std::make_shared<detail::broadcast_state<value>>(servers.size());
    // Every call is made (and encoded) now: the initiation may run later, when `args` is gone.
    for (const server_info* s : servers) {
        auto on_done = [state, id = s->id](std::error_code ec, auto&&... result) {
            server_outcome<value> o{ec};
            if constexpr (sizeof...(result) == 1)
                if (!ec)
                    o.value = std::move(result...);
            state->done(id, std::move(o));
        };
        if constexpr (std::is_same_v<R, no_reply>)
            async_notify_to(s->id, path, args, std::move(on_done));
        else
            async_call_to<R>(s->id, path, args, options, std::move(on_done));
    }
    return asio::async_initiate<CompletionToken, void(broadcast_result<value>)>(
        [](auto handler, std::shared_ptr<detail::broadcast_state<value>> state,
           asio::any_io_executor ex) { state->start(std::move(handler), ex); },
        token, std::move(state), asio::any_io_executor(station_.get_executor()));
}

template <class Args, class CompletionToken>
auto proxy::async_notify_all(const protocol::method_path& path, const Args& args,
                             CompletionToken&& token)
{
    return async_call_all<no_reply>(path, args, call_options{},
                                    std::forward<CompletionToken>(token));
}

template <class R, class Args, class CompletionToken>
auto proxy::async_call(const protocol::method_path& path, const route_param& param,
                       const Args& args, call_options options, CompletionToken&& token)
{
    auto view = detail::view_of(station_);
    auto target = router_.route(param, path, detail::context_of(*view));
    return asio::async_initiate<CompletionToken, detail::call_signature_t<R>>(
        detail::call_initiation<R>{}, token,
        make_call(std::move(view), std::move(target), true, path, &param, args, options));
}

template <class R, class Args, class CompletionToken>
auto proxy::async_call_to(std::string_view server_id, const protocol::method_path& path,
                          const Args& args, call_options options, CompletionToken&& token)
{
    return asio::async_initiate<CompletionToken, detail::call_signature_t<R>>(
        detail::call_initiation<R>{}, token,
        make_call(detail::view_of(station_), std::string(server_id), false, path, nullptr, args,
                  options));
}

template <class Args, class CompletionToken>
auto proxy::async_notify(const protocol::method_path& path, const route_param& param,
                         const Args& args, CompletionToken&& token)
{
    auto view = detail::view_of(station_);
    auto target = router_.route(param, path, detail::context_of(*view));
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        detail::notify_initiation{}, token,
        make_notify(std::move(view), std::move(target), true, path, &param, args));
}

template <class Args, class CompletionToken>
auto proxy::async_notify_to(std::string_view server_id, const protocol::method_path& path,
                            const Args& args, CompletionToken&& token)
{
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        detail::notify_initiation{}, token,
        make_notify(detail::view_of(station_), std::string(server_id), false, path, nullptr,
                    args));
}

template <class Args>
detail::call proxy::make_call(detail::station_view_ptr&& view, std::string&& target, bool routed,
                              const protocol::method_path& path, const route_param* param,
                              const Args& args, call_options& options)
{
    if (options.timeout.count() <= 0)
        options.timeout = station_.options().request_timeout;
    detail::call c; // not `c{...}`: that would zero the frame's inline buffer on every call
    c.station = &station_;
    c.view = std::move(view);
    c.target = std::move(target);
    c.id = detail::next_request_id(station_);
    c.options = std::move(options);
    if (c.options.diag)
        c.options.diag->clear();
    // Encoded here, by the protocol of the server the call is routed to: the initiation may
    // run later (use_awaitable), when `args` is gone. The callee learns how long the caller
    // waits (docs/protocol.md, request metadata).
    c.protocol = &detail::protocol_of(*c.view, c.target);
    c.options.trace = detail::outgoing_trace(c.options.trace);
    const auto timeout_ms =
        static_cast<std::uint32_t>(std::min<std::int64_t>(c.options.timeout.count(), UINT32_MAX));
    c.encode_error = detail::encode_noexcept([&] {
        return c.protocol->encode_traced_request(c.f, c.id, path, value_ref<Args>(args),
                                                 timeout_ms, c.options.trace);
    });
    add_extras(c, path, param, routed, args);
    meter(c, path);
    return c;
}

template <class Args>
detail::call proxy::make_notify(detail::station_view_ptr&& view, std::string&& target, bool routed,
                                const protocol::method_path& path, const route_param* param,
                                const Args& args)
{
    detail::call c;
    c.station = &station_;
    c.view = std::move(view);
    c.target = std::move(target);
    c.protocol = &detail::protocol_of(*c.view, c.target);
    c.options.trace = detail::outgoing_trace({});
    c.encode_error = detail::encode_noexcept([&] {
        return c.protocol->encode_traced_notify(c.f, path, value_ref<Args>(args),
                                                c.options.trace);
    });
    add_extras(c, path, param, routed, args);
    meter(c, path);
    return c;
}

} // namespace mailroom
