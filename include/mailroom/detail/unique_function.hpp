#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

template <class Signature>
class unique_function;

/** A move-only `std::function`: holds handlers that own move-only state (Asio completion
    handlers, work guards, coroutine frames). Empty after being moved from.

    A callable of up to @ref inline_size bytes that moves without throwing is stored inside
    the object (a call's completion usually is), so wrapping it does not allocate; a larger
    one goes to the heap.
*/
template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    /// Bytes of callable stored without allocating.
    static constexpr std::size_t inline_size = 64;

    unique_function() noexcept = default;
    unique_function(std::nullptr_t) noexcept {}

    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, unique_function> &&
                 std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
    unique_function(F&& f)
    {
        using T = std::decay_t<F>;
        if constexpr (fits_inline<T>) {
            ::new (static_cast<void*>(&storage_)) T(std::forward<F>(f));
            ops_ = &inline_ops<T>;
        } else {
            *reinterpret_cast<T**>(&storage_) = new T(std::forward<F>(f));
            ops_ = &heap_ops<T>;
        }
    }

    unique_function(unique_function&& other) noexcept { take(other); }

    unique_function& operator=(unique_function&& other) noexcept
    {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }

    unique_function& operator=(std::nullptr_t) noexcept
    {
        reset();
        return *this;
    }

    ~unique_function() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    R operator()(Args... args) { return ops_->call(&storage_, std::forward<Args>(args)...); }

private:
    struct ops {
        R (*call)(void* self, Args&&... args);
        /// Moves the callable from `from` into the empty `to` and destroys what is left.
        void (*relocate)(void* from, void* to) noexcept;
        void (*destroy)(void* self) noexcept;
    };

    template <class T>
    static constexpr bool fits_inline = sizeof(T) <= inline_size &&
                                        alignof(T) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<T>;

    template <class T>
    static constexpr ops inline_ops{
        [](void* self, Args&&... args) -> R {
            return (*static_cast<T*>(self))(std::forward<Args>(args)...);
        },
        [](void* from, void* to) noexcept {
            ::new (to) T(std::move(*static_cast<T*>(from)));
            static_cast<T*>(from)->~T();
        },
        [](void* self) noexcept { static_cast<T*>(self)->~T(); },
    };

    template <class T>
    static constexpr ops heap_ops{
        [](void* self, Args&&... args) -> R {
            return (**static_cast<T**>(self))(std::forward<Args>(args)...);
        },
        [](void* from, void* to) noexcept { *static_cast<T**>(to) = *static_cast<T**>(from); },
        [](void* self) noexcept { delete *static_cast<T**>(self); },
    };

    void take(unique_function& other) noexcept
    {
        if (other.ops_) {
            other.ops_->relocate(&other.storage_, &storage_);
            ops_ = std::exchange(other.ops_, nullptr);
        }
    }

    void reset() noexcept
    {
        if (auto o = std::exchange(ops_, nullptr))
            o->destroy(&storage_);
    }

    const ops* ops_ = nullptr;
    alignas(std::max_align_t) unsigned char storage_[inline_size];
};

} // namespace mailroom::detail
