#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/mailbox.hpp>
#include <mailroom/tcp/transport.hpp>

namespace mailroom::tcp {

transport make_transport(stream_options client, acceptor_options server, tls_options client_tls)
{
    if (!server.protocol)
        server.protocol = native_protocol();
    auto protocol = server.protocol;
    return {make_mailbox_factory(client, std::move(client_tls)),
            [server](asio::any_io_executor ex, const server_info& self) -> std::shared_ptr<mailroom::acceptor> {
                acceptor_options o = server;
                o.host = self.host;
                o.port = self.port;
                o.tls = tls_for(self, server.tls);
                return make_acceptor(std::move(ex), std::move(o));
            },
            std::move(protocol)};
}

} // namespace mailroom::tcp
