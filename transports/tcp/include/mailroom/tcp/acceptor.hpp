#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/tcp/options.hpp>

#include <cstdint>
#include <memory>

namespace mailroom::tcp {

/** A TCP acceptor: listens on `host:port` and frames each connection as the TCP mail box
    does. Each connection runs on its own strand of the executor. A frame above
    `max_frame_size`, or garbage, closes that connection only.

    @par Thread safety
    All member functions may be called from any thread.

    @par Example
    @code
    auto acc = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    server.listen(acc);
    std::uint16_t port = acc->port();
    @endcode
*/
class acceptor : public mailroom::acceptor {
public:
    /// The bound port (after `start`), useful when bound to port 0.
    virtual std::uint16_t port() const = 0;
    /// Connections refused so far because `max_connections` were open.
    virtual std::uint64_t refused() const = 0;
    /// Accepted connections that still exist (counted against `max_connections`).
    virtual std::size_t open_connections() const = 0;
};

/// Creates a TCP acceptor; it binds when the server starts it.
std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options = {});

} // namespace mailroom::tcp
