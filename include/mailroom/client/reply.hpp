#pragma once

#include <msgpack.hpp>

#include <string>
#include <utility>

namespace mailroom {

/** The raw outcome of a call made without a C++ result type: the result as a msgpack object,
    and the remote's error message when the call failed.

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

    /// The result (nil for `void` methods and failed calls).
    const msgpack::object& get() const noexcept { return result_.get(); }

    /// The result converted to `T`; throws `msgpack::type_error` if it does not convert.
    template <class T>
    T as() const
    {
        return result_.get().as<T>();
    }

    /// The message the remote sent with its error; empty on success.
    const std::string& error_message() const noexcept { return error_message_; }

private:
    msgpack::object_handle result_;
    std::string error_message_;
};

} // namespace mailroom
