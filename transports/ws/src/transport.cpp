#include "server_options.hpp"

#include <mailroom/ws/acceptor.hpp>
#include <mailroom/ws/mailbox.hpp>
#include <mailroom/ws/transport.hpp>

namespace mailroom::ws {

transport make_transport(client_options client, acceptor_options server)
{
    return {make_mailbox_factory(std::move(client)),
            [server](asio::any_io_executor ex, const server_info& self) -> std::shared_ptr<mailroom::acceptor> {
                return make_acceptor(std::move(ex), detail::acceptor_options_for(self, server));
            }};
}

} // namespace mailroom::ws
