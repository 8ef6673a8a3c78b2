#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/mailbox.hpp>
#include <mailroom/tcp/transport.hpp>

namespace mailroom::tcp {

transport make_transport(stream_options client, acceptor_options server)
{
    return {make_mailbox_factory(client),
            [server](asio::any_io_executor ex, const server_info& self) -> std::shared_ptr<mailroom::acceptor> {
                acceptor_options o = server;
                o.host = self.host;
                o.port = self.port;
                return make_acceptor(std::move(ex), std::move(o));
            }};
}

} // namespace mailroom::tcp
