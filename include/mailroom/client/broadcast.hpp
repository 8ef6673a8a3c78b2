#pragma once

#include <mailroom/client/reply.hpp>
#include <mailroom/no_reply.hpp>

#include <functional>
#include <map>
#include <string>
#include <system_error>
#include <type_traits>

namespace mailroom {

/** One server's outcome of a broadcast: its error, or (for a method with a result) its
    result. `value` is value-initialised when `error` is set.
*/
template <class T>
struct server_outcome {
    std::error_code error;
    T value{};

    explicit operator bool() const noexcept { return !error; }
};

/// One server's outcome of a broadcast of a `void` method or a notify.
template <>
struct server_outcome<void> {
    std::error_code error;

    explicit operator bool() const noexcept { return !error; }
};

/** Every server's outcome of a broadcast (@ref proxy::async_call_all, a stub's `to_all`), by
    server id, ordered. A server that failed has its error here; it never hides the others.
*/
template <class T>
using broadcast_result = std::map<std::string, server_outcome<T>, std::less<>>;

namespace detail {

/// The value a broadcast keeps per server for a method whose result is `R`.
template <class R>
using broadcast_value_t = typename stub_result<R>::type;

} // namespace detail
} // namespace mailroom
