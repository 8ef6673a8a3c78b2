#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/pomelo/options.hpp>
#include <mailroom/tcp/acceptor.hpp>

#include <memory>

namespace mailroom::pomelo {

/** An acceptor that stock pomelo-rpc 1.0.7 clients call: MQTT 3.1.1 over TCP, each request a
    PUBLISH on topic `rpc` (alone or in a JSON array batch), PINGREQ answered with PINGRESP.
    It never sends CONNACK or DISCONNECT (a stock client misreads both) and, by default, never
    closes an idle connection (a stock client would not notice). Pass
    @ref make_protocol to `server::listen` with it.

    Returns the TCP acceptor interface: `port()`, `refused()`, `open_connections()`.

    @par Thread safety
    All member functions may be called from any thread.

    @par Example
    @code
    auto acc = mailroom::pomelo::make_acceptor(ioc.get_executor(), {.port = 0});
    server.listen(acc, mailroom::pomelo::make_protocol());
    std::cout << acc->port();
    @endcode
*/
std::shared_ptr<tcp::acceptor> make_acceptor(asio::any_io_executor ex,
                                             acceptor_options options = {});

} // namespace mailroom::pomelo
