#pragma once

#include <mailroom/protocol/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace mailroom {

template <class R, class Args, class CompletionToken>
auto proxy::async_call(const protocol::method_path& path, const route_param& param,
                       const Args& args, call_options options, CompletionToken&& token)
{
    return initiate_call<R>(route(path, param), path, args, options,
                            std::forward<CompletionToken>(token));
}

template <class R, class Args, class CompletionToken>
auto proxy::async_call_to(std::string_view server_id, const protocol::method_path& path,
                          const Args& args, call_options options, CompletionToken&& token)
{
    return initiate_call<R>(std::string(server_id), path, args, options,
                            std::forward<CompletionToken>(token));
}

template <class Args, class CompletionToken>
auto proxy::async_notify(const protocol::method_path& path, const route_param& param,
                         const Args& args, CompletionToken&& token)
{
    return initiate_notify(route(path, param), path, args, std::forward<CompletionToken>(token));
}

template <class Args, class CompletionToken>
auto proxy::async_notify_to(std::string_view server_id, const protocol::method_path& path,
                            const Args& args, CompletionToken&& token)
{
    return initiate_notify(std::string(server_id), path, args,
                           std::forward<CompletionToken>(token));
}

template <class R, class Args, class CompletionToken>
auto proxy::initiate_call(std::string target, const protocol::method_path& path, const Args& args,
                          call_options options, CompletionToken&& token)
{
    auto timeout = options.timeout.count() > 0 ? options.timeout
                                               : station_.options().request_timeout;
    const auto id = station_.next_request_id();
    frame f;
    // The callee learns how long the caller waits (docs/protocol.md, request metadata).
    protocol::encode_request(
        f, id, path, args,
        static_cast<std::uint32_t>(std::min<std::int64_t>(timeout.count(), UINT32_MAX)));
    // Encoded eagerly: the initiation may run later (use_awaitable), when `args` is gone.
    return asio::async_initiate<CompletionToken, detail::call_signature_t<R>>(
        [this](auto handler, std::string target, std::uint64_t id, frame f,
               std::chrono::milliseconds timeout) {
            using handler_type = decltype(handler);
            station_.send_request(target, id, std::move(f), timeout,
                                  detail::typed_completion<R, handler_type, executor_type>(
                                      std::move(handler), station_.get_executor()));
        },
        token, std::move(target), id, std::move(f), timeout);
}

template <class Args, class CompletionToken>
auto proxy::initiate_notify(std::string target, const protocol::method_path& path,
                            const Args& args, CompletionToken&& token)
{
    frame f;
    protocol::encode_notify(f, path, args);
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [this](auto handler, std::string target, frame f) {
            using handler_type = decltype(handler);
            station_.send_notify(target, std::move(f),
                                 detail::status_completion<handler_type, executor_type>(
                                     std::move(handler), station_.get_executor()));
        },
        token, std::move(target), std::move(f));
}

} // namespace mailroom
