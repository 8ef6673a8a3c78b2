#pragma once

#include <mailroom/error.hpp>
#include <mailroom/protocol/detail/json_check.hpp>
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

/** Typed values (the arguments of a call, or a result) seen through one interface, so that
    the protocol of the server a call is routed to encodes them once, in its own format.

    The core makes them from the values the caller passed (@ref value_ref); a protocol only
    calls `pack` or `to_json`. A value whose type has no form in that format yields
    `error::not_encodable`, and the call fails with it without being sent.

    @par Thread safety
    `pack` and `to_json` are const and may run concurrently if the values allow it.

    @par Example
    @code
    std::error_code encode_request(mailroom::frame& out, std::uint64_t id, const path& p,
                                   const mailroom::value_source& args, std::uint32_t) const override
    {
        nlohmann::json a;
        if (auto ec = args.to_json(a)) return ec; // not_encodable: the call is never sent
        write(out, {{"id", id}, {"args", std::move(a)}});
        return {};
    }
    @endcode
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
    explicit value_ref(const T&&) = delete; // would dangle at once

    std::error_code pack(frame& out) const override
    {
        if constexpr (std::is_same_v<T, nlohmann::json>) {
            // JSON values given by the caller (remotes without a C++ declaration).
            const auto bytes = nlohmann::json::to_msgpack(v_);
            out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return {};
        } else if constexpr (detail::json_only_v<T>) {
            return error::not_encodable; // no msgpack form known: never packed
        } else {
            // Whatever msgpack packs (wire types, strings of any kind, msgpack's own types).
            msgpack::packer<frame>(out).pack(v_);
            return {};
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
    /// From the caller's values: views and C strings are copied into strings (see owned_args).
    template <class U>
    explicit value_copy(U&& v) : v_(std::forward<U>(v))
    {
    }

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

    @par Thread safety
    Distinct objects: safe. Shared objects: safe for const use.

    @par Example
    @code
    d.add_raw("user", "calc", "sum", [](const call_context&, const mailroom::value_view& args,
                                        mailroom::responder r) {
        std::vector<int> v;
        if (!args.convert(v)) return r.fail(mailroom::error::bad_arguments, args.kind());
        r.send(std::accumulate(v.begin(), v.end(), 0));
    });
    @endcode
*/
class value_view {
public:
    /// Nil.
    value_view() noexcept = default;
    explicit value_view(const msgpack::object& o) noexcept : mp_(o) {}
    explicit value_view(const nlohmann::json& j) noexcept : js_(&j) {}
    explicit value_view(const nlohmann::json&&) = delete; // would dangle at once

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

    /** Converts to `T`; false (leaving `out` unspecified) if it does not convert. JSON is read
        as strictly as msgpack (1.5 is not an `int`, -1 not an `unsigned`, true not a number).
    */
    template <class T>
    bool convert(T& out) const noexcept
    {
        try {
            if (js_)
                return detail::read_json(*js_, out);
            if constexpr (std::is_same_v<T, nlohmann::json> || detail::json_only_v<T>) {
                return false; // a msgpack value is not turned into JSON
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
