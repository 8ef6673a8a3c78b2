#pragma once

#include <mailroom/protocol/values.hpp>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace mailroom {

/** The raw outcome of a call made without a C++ result type: the result as the server's
    protocol wrote it (a msgpack object, or a JSON value), and the remote's error message when
    the call failed.

    Use it for remotes that have no C++ declaration (e.g. served by Node), and to read the
    message of a `remote_error`.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe for const use.

    @par Example
    @code
    auto [ec, r] = co_await proxy.async_call(path, key, std::tuple{1, 2}, as_tuple_token);
    if (ec == mailroom::error::remote_error) log(r.error_message());
    else int sum = r.as<int>();
    @endcode
*/
class reply {
public:
    reply() = default;
    reply(msgpack::object_handle result, std::string error_message)
        : result_(std::move(result)), error_message_(std::move(error_message))
    {
    }

    /// A copy of a received result (it outlives the received bytes).
    explicit reply(const value_view& result)
    {
        if (const nlohmann::json* j = result.json())
            json_ = *j;
        else
            result_ = msgpack::clone(result.msgpack());
    }

    /// The result as a msgpack object (nil for `void` methods, failed calls and JSON results).
    const msgpack::object& get() const noexcept { return result_.get(); }

    /// The result as JSON, if the server's protocol writes JSON; null otherwise.
    const nlohmann::json* json() const noexcept { return json_ ? &*json_ : nullptr; }

    /// The result, whichever format it came in.
    value_view value() const noexcept
    {
        return json_ ? value_view(*json_) : value_view(result_.get());
    }

    /** The result converted to `T`; throws if it does not convert (`msgpack::type_error` for a
        msgpack result, `nlohmann::json::exception` for a JSON one, `std::system_error` with
        `bad_result` for a JSON result and a type without JSON conversions).
    */
    template <class T>
    T as() const
    {
        if (json_) {
            if constexpr (detail::json_readable_v<T>)
                return json_->get<T>();
            else
                throw std::system_error(error::bad_result, "the type has no JSON conversion");
        }
        if constexpr (detail::json_only_v<T>)
            throw std::system_error(error::bad_result, "the type has no msgpack conversion");
        else
            return result_.get().as<T>();
    }

    /// The message the remote sent with its error; empty on success.
    const std::string& error_message() const noexcept { return error_message_; }

private:
    msgpack::object_handle result_;
    std::optional<nlohmann::json> json_;
    std::string error_message_;
};

} // namespace mailroom
