#pragma once

// Private to the TCP transport.

#include <mailroom/detail/config.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace mailroom::tcp::detail {

/// "127.0.0.1:41234" or "[::1]:41234", for logs and local_address().
std::string to_string(const asio::ip::tcp::endpoint& ep);

/** Resolves `host` (an address, or a name resolved synchronously), then opens, binds (with
    SO_REUSEADDR, so a restarted server gets its port back) and listens on `acceptor`.
    On success `local` is the bound endpoint (the real port when `port` was 0).
*/
std::error_code listen(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                       std::uint16_t port, asio::ip::tcp::endpoint& local);

} // namespace mailroom::tcp::detail
