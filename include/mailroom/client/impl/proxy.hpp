#pragma once

#include <mailroom/client/detail/filtered_call.hpp>
#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/protocol/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

namespace mailroom {

template <class R, class Args, class CompletionToken>
auto proxy::async_call(const protocol::method_path& path, const route_param& param,
                       const Args& args, call_options options, CompletionToken&& token)
{
    auto view = detail::view_of(station_);
    auto target = router_.route(param, path, detail::table_of(*view));
    return initiate_call<R>(std::move(view), std::move(target), path, args, options,
                            std::forward<CompletionToken>(token), &param);
}

template <class R, class Args, class CompletionToken>
auto proxy::async_call_to(std::string_view server_id, const protocol::method_path& path,
                          const Args& args, call_options options, CompletionToken&& token)
{
    return initiate_call<R>(detail::view_of(station_), std::string(server_id), path, args, options,
                            std::forward<CompletionToken>(token));
}

template <class Args, class CompletionToken>
auto proxy::async_notify(const protocol::method_path& path, const route_param& param,
                         const Args& args, CompletionToken&& token)
{
    auto view = detail::view_of(station_);
    auto target = router_.route(param, path, detail::table_of(*view));
    return initiate_notify(std::move(view), std::move(target), path, args,
                           std::forward<CompletionToken>(token), &param);
}

template <class Args, class CompletionToken>
auto proxy::async_notify_to(std::string_view server_id, const protocol::method_path& path,
                            const Args& args, CompletionToken&& token)
{
    return initiate_notify(detail::view_of(station_), std::string(server_id), path, args,
                           std::forward<CompletionToken>(token));
}

template <class R, class Args, class CompletionToken>
auto proxy::initiate_call(detail::station_view_ptr view, std::string target,
                          const protocol::method_path& path, const Args& args,
                          call_options options, CompletionToken&& token, const route_param* param)
{
    auto timeout = options.timeout.count() > 0 ? options.timeout
                                               : station_.options().request_timeout;
    const auto id = detail::next_request_id(station_);
    frame f;
    // The callee learns how long the caller waits (docs/protocol.md, request metadata).
    protocol::encode_request(
        f, id, path, args,
        static_cast<std::uint32_t>(std::min<std::int64_t>(timeout.count(), UINT32_MAX)));
    options.timeout = timeout;
    // Encoded eagerly: the initiation may run later (use_awaitable), when `args` is gone.
    // With filters, the names are copied: the initiation may run after `path` is gone.
    auto filters = filters_for(path.server_type);
    std::optional<detail::owned_path> owned;
    if (filters)
        owned.emplace(path);
    return asio::async_initiate<CompletionToken, detail::call_signature_t<R>>(
        [this, filters = std::move(filters), owned = std::move(owned),
         param](auto handler, detail::station_view_ptr view, std::string target, std::uint64_t id,
                frame f, call_options options) mutable {
            using handler_type = decltype(handler);
            detail::typed_completion<R, handler_type, executor_type> done(std::move(handler),
                                                                          detail::executor_ref(station_));
            if (filters)
                return detail::send_filtered({&station_, std::move(filters), param,
                                              std::move(target), id, std::move(*owned),
                                              std::move(f), std::move(options), std::move(done),
                                              {}});
            detail::send_request(station_, view, target, id, std::move(f), options,
                                 std::move(done));
        },
        token, std::move(view), std::move(target), id, std::move(f), std::move(options));
}

template <class Args, class CompletionToken>
auto proxy::initiate_notify(detail::station_view_ptr view, std::string target,
                            const protocol::method_path& path, const Args& args,
                            CompletionToken&& token, const route_param* param)
{
    frame f;
    protocol::encode_notify(f, path, args);
    auto filters = filters_for(path.server_type);
    std::optional<detail::owned_path> owned;
    if (filters)
        owned.emplace(path);
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [this, filters = std::move(filters), owned = std::move(owned),
         param](auto handler, detail::station_view_ptr view, std::string target, frame f) mutable {
            using handler_type = decltype(handler);
            detail::status_completion<handler_type, executor_type> done(std::move(handler),
                                                                        detail::executor_ref(station_));
            if (filters)
                return detail::send_filtered({&station_, std::move(filters), param,
                                              std::move(target), 0, std::move(*owned),
                                              std::move(f), {}, {}, std::move(done)});
            detail::send_notify(station_, view, target, std::move(f), std::move(done));
        },
        token, std::move(view), std::move(target), std::move(f));
}

} // namespace mailroom
