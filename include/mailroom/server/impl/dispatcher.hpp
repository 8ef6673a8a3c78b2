#pragma once

#include <mailroom/server/detail/bind.hpp>

#include <memory>
#include <utility>

namespace mailroom {

template <class F>
void dispatcher::add(std::string_view service, std::string_view method, F f, std::string_view ns)
{
    // std::function needs a copyable target; a shared_ptr keeps move-only callables usable.
    auto fn = std::make_shared<F>(std::move(f));
    add_raw(ns, service, method,
            [fn](const call_context& ctx, const msgpack::object& args, responder r) {
                detail::invoke_bound(*fn, ctx, args, r);
            });
}

} // namespace mailroom
