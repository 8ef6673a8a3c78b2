#pragma once

// Private to the TCP transport.

#include <mailroom/detail/config.hpp>
#include <mailroom/detail/to_std_error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <system_error>
#include <utility>

namespace mailroom::tcp::detail {

/** On the strand of `socket` (and `resolver`): resolves `host`:`port`, connects `socket` to
    the first address that takes it and sets TCP_NODELAY to `no_delay`, then calls
    `done(std::error_code)` on the strand, exactly once. `stopped()` is asked before each
    step; once it is true, `done` gets `operation_canceled`.

    `resolver` and `socket` must live until `done` runs: `stopped` or `done` holds their owner.
*/
template <class Resolver, class Socket, class Stopped, class Done>
void resolve_and_connect(Resolver& resolver, Socket& socket, const std::string& host,
                         const std::string& port, bool no_delay, Stopped stopped, Done done)
{
    const auto failed = [](const boost::system::error_code& ec) {
        return ec ? mailroom::detail::to_std_error(ec)
                  : std::make_error_code(std::errc::operation_canceled);
    };
    if (stopped())
        return done(failed({}));
    resolver.async_resolve(
        host, port,
        [&socket, no_delay, failed, stopped = std::move(stopped), done = std::move(done)](
            const boost::system::error_code& ec, typename Resolver::results_type results) mutable {
            if (ec || stopped())
                return done(failed(ec));
            asio::async_connect(
                socket, results,
                [&socket, no_delay, failed, stopped = std::move(stopped), done = std::move(done)](
                    const boost::system::error_code& ec, const asio::ip::tcp::endpoint&) mutable {
                    if (ec || stopped())
                        return done(failed(ec));
                    boost::system::error_code ignored;
                    socket.set_option(asio::ip::tcp::no_delay(no_delay), ignored);
                    done(std::error_code{});
                });
        });
}

} // namespace mailroom::tcp::detail
