#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server_info.hpp>

#include <functional>
#include <memory>

namespace mailroom {

/// Creates the acceptor through which server `self` is reached, from its config entry.
using acceptor_factory =
    std::function<std::shared_ptr<acceptor>(asio::any_io_executor ex, const server_info& self)>;

/** Both halves of a transport and the protocol they speak, registered in an App under the
    name servers.json uses in a server's `transport` field.

    @par Example
    @code
    app.add_transport("tcp", mailroom::tcp::make_transport());
    @endcode
*/
struct transport {
    /// Builds the client half: one mail box per remote server.
    mailbox_factory mailbox{};
    /// Builds the server half for this process's own entry.
    acceptor_factory acceptor{};
    /// The protocol both halves speak (codec, handshake, keepalive); null: the native one.
    std::shared_ptr<const wire_protocol> protocol{};
};

} // namespace mailroom
