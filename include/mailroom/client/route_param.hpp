#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

namespace mailroom {

/** The first argument of every proxy call: what the route function routes on.

    pomelo passes the session; mailroom passes a non-owning view of whatever the caller
    routes on: a string key (a user id, a channel name), a number, or any object (a session).
    It lives only for the duration of the routing decision: the call routes eagerly, in the
    calling thread, and keeps an @ref owned_route_param (the key and the number, copied) for
    its client filters and failure policy.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (it is immutable).

    @par Example
    @code
    proxy.async_call<int>(path, mailroom::route_param("channel-7"), args, token);
    proxy.async_call<int>(path, mailroom::route_param::of(session), args, token);
    // In a route function: if (auto* s = param.get<session>()) ...
    @endcode
*/
class route_param {
public:
    /// No routing information: the route function picks freely.
    route_param() noexcept = default;

    /// Routes on a string key.
    route_param(std::string_view key) noexcept : key_(key), has_key_(true) {}
    route_param(const char* key) noexcept : route_param(std::string_view(key)) {}
    route_param(const std::string& key) noexcept : route_param(std::string_view(key)) {}

    /// Routes on a number (a numeric user id, a room number).
    template <class Int>
        requires std::is_integral_v<Int>
    route_param(Int number) noexcept : has_number_(true)
    {
        if constexpr (std::is_signed_v<Int>) {
            negative_ = number < 0;
            // magnitude, without overflow for the most negative value
            number_ = negative_ ? std::uint64_t(0) - static_cast<std::uint64_t>(number)
                                : static_cast<std::uint64_t>(number);
        } else {
            number_ = number;
        }
    }

    /// Routes on any object, e.g. a session; the route function reads it with @ref get.
    template <class T>
    static route_param of(const T& object) noexcept
    {
        route_param p;
        p.object_ = &object;
        p.type_ = &typeid(T);
        return p;
    }

    /// Also carry a key next to an object (a session and its uid).
    route_param&& with_key(std::string_view key) && noexcept
    {
        key_ = key;
        has_key_ = true;
        return std::move(*this);
    }

    bool has_key() const noexcept { return has_key_; }
    std::string_view key() const noexcept { return key_; }

    bool has_number() const noexcept { return has_number_; }
    /// The magnitude of the number; see @ref negative for its sign.
    std::uint64_t number() const noexcept { return number_; }
    bool negative() const noexcept { return negative_; }

    /// The object given to @ref of, if it is a `T`; otherwise nullptr.
    template <class T>
    const T* get() const noexcept
    {
        return type_ && *type_ == typeid(T) ? static_cast<const T*>(object_) : nullptr;
    }

    /// True if an object was given with @ref of.
    bool has_object() const noexcept { return object_ != nullptr; }

    bool empty() const noexcept { return !has_key_ && !has_number_ && !object_; }

private:
    friend class owned_route_param;

    std::string_view key_;
    std::uint64_t number_ = 0;
    const void* object_ = nullptr;
    const std::type_info* type_ = nullptr;
    bool has_key_ = false;
    bool has_number_ = false;
    bool negative_ = false;
};

/** What a call keeps of its @ref route_param once routed: a copy of the key and the number.

    An object given with @ref route_param::of is not kept: it is the caller's, and only valid
    while routing (which happens in the calling thread, before the call function returns).
    Carry what a filter or a failure policy needs as the key (`route_param::of(s).with_key(uid)`).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (it is immutable).

    @par Example
    @code
    void before(mailroom::filter_call& c, mailroom::filter_next next) override
    {
        if (c.param.has_key()) log(c.param.key());
        next();
    }
    @endcode
*/
class owned_route_param {
public:
    /// No routing information.
    owned_route_param() = default;

    /// Copies the key and the number of `p`.
    explicit owned_route_param(const route_param& p)
        : key_(p.key_), number_(p.number_), has_key_(p.has_key_), has_number_(p.has_number_),
          negative_(p.negative_), had_object_(p.object_ != nullptr)
    {
    }

    bool has_key() const noexcept { return has_key_; }
    std::string_view key() const noexcept { return key_; }

    bool has_number() const noexcept { return has_number_; }
    /// The magnitude of the number; see @ref negative for its sign.
    std::uint64_t number() const noexcept { return number_; }
    bool negative() const noexcept { return negative_; }

    /// True if the caller routed on an object (which is not kept).
    bool had_object() const noexcept { return had_object_; }

    bool empty() const noexcept { return !has_key_ && !has_number_ && !had_object_; }

    /** A @ref route_param over this copy (key and number, no object), to route again (a
        failure policy re-routing on a hash ring). Valid while this object lives.
    */
    route_param view() const noexcept
    {
        route_param p;
        p.key_ = key_;
        p.has_key_ = has_key_;
        p.number_ = number_;
        p.has_number_ = has_number_;
        p.negative_ = negative_;
        return p;
    }

private:
    std::string key_;
    std::uint64_t number_ = 0;
    bool has_key_ = false;
    bool has_number_ = false;
    bool negative_ = false;
    bool had_object_ = false;
};

} // namespace mailroom
