#pragma once

#include <mailroom/server/detail/bind.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace mailroom {

template <class F>
void dispatcher::add(std::string_view service, std::string_view method, F f, std::string_view ns)
{
    bind(service, method, std::move(f), std::nullopt, ns);
}

template <class F>
void dispatcher::add(std::string_view service, std::string_view method, F f,
                     asio::any_io_executor ex, std::string_view ns)
{
    bind(service, method, std::move(f), std::optional<asio::any_io_executor>(std::move(ex)), ns);
}

template <class F>
void dispatcher::bind(std::string_view service, std::string_view method, F f,
                      std::optional<asio::any_io_executor> ex, std::string_view ns)
{
    // std::function needs a copyable target; a shared_ptr keeps move-only callables usable.
    auto fn = std::make_shared<F>(std::move(f));
    add_raw(ns, service, method,
            [fn, ex = std::move(ex)](const call_context& ctx, const value_view& args,
                                     responder r) {
                detail::invoke_handler(fn, ex, ctx, args, std::move(r));
            });
}

} // namespace mailroom
