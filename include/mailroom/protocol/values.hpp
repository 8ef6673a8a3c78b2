#pragma once

#include <mailroom/error.hpp>
#include <mailroom/protocol/detail/json_numbers.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/wire_type.hpp>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom {

/** The formats a protocol writes values (arguments and results) in. The native protocol
    writes msgpack; a protocol with JSON bodies (pomelo-rpc's) writes JSON. A protocol of
    your own picks one of them: typed values know how to become either.
*/
enum class value_format : std::uint8_t { msgpack, json };

namespace detail {

/// `T` converts to JSON (nlohmann's `to_json`, found by ADL or built in).
template <class T>
concept json_writable = requires(nlohmann::json& j, const T& v) {
    nlohmann::adl_serializer<std::remove_cvref_t<T>>::to_json(j, v);
};

/// `T` converts from JSON (nlohmann's `from_json`, found by ADL or built in).
template <class T>
concept json_readable = requires(const nlohmann::json& j, T& v) {
    nlohmann::adl_serializer<T>::from_json(j, v);
};

template <class T>
struct is_std_tuple : std::false_type {};
template <class... T>
struct is_std_tuple<std::tuple<T...>> : std::true_type {};

/// Writes one value as JSON; false if its type has no JSON form.
template <class T>
bool write_json(nlohmann::json& out, const T& v)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<T>, nlohmann::json>) {
        out = v;
        return true;
    } else if constexpr (is_std_tuple<std::remove_cvref_t<T>>::value) {
        // Element by element: nlohmann's own tuple conversion goes through an initializer
        // list, which turns ("a", 1)-shaped pairs of pairs into an object.
        out = nlohmann::json::array();
        return std::apply(
            [&](const auto&... e) {
                return (write_json(out.emplace_back(), e) && ...);
            },
            v);
    } else if constexpr (json_writable<T>) {
        try {
            out = v;
            return true;
        } catch (...) { // a string that is not UTF-8 is still written; other throws: no form
            return false;
        }
    } else {
        return false;
    }
}

/** Runs an encoder, turning a throw (a JSON library's error on a string that is not UTF-8,
    out of memory) into `error::not_encodable`: encoding a call or a result never throws at
    the caller.
*/
template <class Encode>
std::error_code encode_noexcept(Encode&& encode) noexcept
{
    try {
        return std::forward<Encode>(encode)();
    } catch (...) {
        return error::not_encodable;
    }
}

} // namespace detail

/** Typed values (the arguments of a call, or a result) seen through one interface, so that
    the protocol of the server a call is routed to encodes them once, in its own format.

    The core makes them from the values the caller passed (@ref value_ref); a protocol only
    calls `pack` or `to_json`. A value whose type has no form in that format yields
    `error::not_encodable`, and the call fails with it without being sent.
*/
class value_source {
public:
    /// Appends the value to `out` in msgpack (arguments: one msgpack array).
    virtual std::error_code pack(frame& out) const = 0;
    /// Writes the value as JSON (arguments: one JSON array).
    virtual std::error_code to_json(nlohmann::json& out) const = 0;

protected:
    ~value_source() = default;
};

/** A @ref value_source over a value the caller keeps alive while it is encoded. Arguments
    are a `std::tuple` (a JSON array, a msgpack array), a container, or an `nlohmann::json`.
*/
template <class T>
class value_ref final : public value_source {
public:
    explicit value_ref(const T& v) noexcept : v_(v) {}

    std::error_code pack(frame& out) const override
    {
        if constexpr (std::is_same_v<T, nlohmann::json>) {
            // JSON values given by the caller (remotes without a C++ declaration).
            const auto bytes = nlohmann::json::to_msgpack(v_);
            out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return {};
        } else if constexpr (detail::wire_check_v<T>) {
            msgpack::packer<frame>(out).pack(v_);
            return {};
        } else {
            return error::not_encodable;
        }
    }

    std::error_code to_json(nlohmann::json& out) const override
    {
        return detail::write_json(out, v_) ? std::error_code{} : error::not_encodable;
    }

private:
    const T& v_;
};

/** A @ref value_source that owns a copy of the values: kept by a call that may have to be
    encoded again, for a server of another protocol (a filter or a failure policy moved it).
*/
template <class T>
class value_copy final : public value_source {
public:
    explicit value_copy(T v) : v_(std::move(v)) {}

    std::error_code pack(frame& out) const override { return value_ref<T>(v_).pack(out); }
    std::error_code to_json(nlohmann::json& out) const override
    {
        return value_ref<T>(v_).to_json(out);
    }

private:
    T v_;
};

/** A received value: a msgpack object or a JSON value, as the protocol that decoded it
    writes values. Views point into the received message; valid while it is handled.
*/
class value_view {
public:
    /// Nil.
    value_view() noexcept = default;
    explicit value_view(const msgpack::object& o) noexcept : mp_(o) {}
    explicit value_view(const nlohmann::json& j) noexcept : js_(&j) {}

    value_format format() const noexcept
    {
        return js_ ? value_format::json : value_format::msgpack;
    }

    /// The msgpack object (nil for a JSON value).
    const msgpack::object& msgpack() const noexcept { return mp_; }

    /// The JSON value, or null for a msgpack value.
    const nlohmann::json* json() const noexcept { return js_; }

    bool is_nil() const noexcept
    {
        return js_ ? js_->is_null() : mp_.type == msgpack::type::NIL;
    }

    bool is_array() const noexcept
    {
        return js_ ? js_->is_array() : mp_.type == msgpack::type::ARRAY;
    }

    /// Elements of an array (0 for anything else).
    std::size_t size() const noexcept
    {
        if (!is_array())
            return 0;
        return js_ ? js_->size() : mp_.via.array.size;
    }

    /// Element `i` of an array; `i < size()`.
    value_view operator[](std::size_t i) const noexcept
    {
        return js_ ? value_view((*js_)[i]) : value_view(mp_.via.array.ptr[i]);
    }

    /// What the value is, in words ("a string", "an array"), for error messages.
    std::string_view kind() const noexcept;

    /** Converts to `T`; false (leaving `out` unspecified) if it does not convert. Both formats
        follow msgpack's rules for numbers: an integer type takes only an integer within its
        range (never a fraction), a floating-point type any number.
    */
    template <class T>
    bool convert(T& out) const noexcept
    {
        try {
            if (js_) {
                if constexpr (std::is_same_v<T, nlohmann::json>) {
                    out = *js_;
                    return true;
                } else if constexpr (detail::json_readable<T>) {
                    // nlohmann casts any number to an integer type; such a cast out of
                    // range is undefined behaviour (found by fuzz/values_fuzz.cpp).
                    if (!detail::json_numbers_fit<T>(*js_))
                        return false;
                    js_->get_to(out);
                    return true;
                } else {
                    return false;
                }
            }
            if constexpr (std::is_same_v<T, nlohmann::json>) {
                return false;
            } else {
                mp_.convert(out);
                return true;
            }
        } catch (...) {
            return false;
        }
    }

private:
    msgpack::object mp_{};
    const nlohmann::json* js_ = nullptr;
};

} // namespace mailroom
