#pragma once

// Boost 1.74's <boost/asio/awaitable.hpp> uses std::exchange without including <utility>
// (g++ 12 no longer pulls it in transitively).
#include <utility>

#include <boost/asio/any_io_executor.hpp>

namespace mailroom {

/// mailroom is written against Boost.Asio; this alias keeps signatures short.
namespace asio = boost::asio;

} // namespace mailroom
