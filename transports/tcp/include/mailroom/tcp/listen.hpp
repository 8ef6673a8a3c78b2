#pragma once

#include <mailroom/detail/config.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace mailroom::tcp {

/** "127.0.0.1:41234" or "[::1]:41234": how mailroom's TCP-based transports show an endpoint
    (`local_address()`, `remote_address()`, logs).

    @par Thread safety
    Any thread.

    @par Example
    @code
    log("listening on {}", mailroom::tcp::format_endpoint(acceptor.local_endpoint()));
    @endcode
*/
std::string format_endpoint(const asio::ip::tcp::endpoint& ep);

/** The peer of `socket` as @ref format_endpoint writes it, or "unknown" when the socket has
    none (it was reset before this was asked). `Socket` is any Asio TCP stream socket.

    @par Thread safety
    On the socket's strand (it reads the socket).

    @par Example
    @code
    remote_ = mailroom::tcp::peer_address(socket); // "10.0.0.7:50312"
    @endcode
*/
template <class Socket>
std::string peer_address(const Socket& socket)
{
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : format_endpoint(ep);
}

/** Resolves `host` (an address, or a name resolved synchronously), then opens, binds (with
    SO_REUSEADDR, so a restarted server gets its port back at once) and listens on
    `acceptor` (with the system's largest backlog). Returns the first error (resolve, open,
    bind, listen) as a `std::error_code`, e.g. `errc::address_in_use`. On success `local`
    is the bound endpoint: the real port when `port` was 0.

    @par Thread safety
    Blocks; call it where nothing else uses `acceptor` yet.

    @par Example
    @code
    asio::ip::tcp::acceptor acc(ex);
    asio::ip::tcp::endpoint local;
    if (auto ec = mailroom::tcp::listen(acc, "127.0.0.1", 0, local)) return ec;
    @endcode
*/
std::error_code listen(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                       std::uint16_t port, asio::ip::tcp::endpoint& local);

} // namespace mailroom::tcp
