#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

template <class Signature>
class unique_function;

/** A move-only `std::function`: holds handlers that own move-only state (Asio completion
    handlers, work guards, coroutine frames). Empty after being moved from.
*/
template <class R, class... Args>
class unique_function<R(Args...)> {
    struct base {
        virtual ~base() = default;
        virtual R call(Args... args) = 0;
    };

    template <class F>
    struct holder final : base {
        F f;
        explicit holder(F&& fn) : f(std::move(fn)) {}
        R call(Args... args) override { return f(std::forward<Args>(args)...); }
    };

    std::unique_ptr<base> impl_;

public:
    unique_function() noexcept = default;
    unique_function(std::nullptr_t) noexcept {}

    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, unique_function> &&
                 std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
    unique_function(F&& f) : impl_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f)))
    {
    }

    unique_function(unique_function&&) noexcept = default;
    unique_function& operator=(unique_function&&) noexcept = default;

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }
};

} // namespace mailroom::detail
