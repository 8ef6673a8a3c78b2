#include <mailroom/pomelo/acceptor.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/mailbox.hpp>
#include <mailroom/pomelo/transport.hpp>

namespace mailroom::pomelo {

transport make_transport(link_options client, acceptor_options server)
{
    return {make_mailbox_factory(client),
            [server](asio::any_io_executor ex,
                     const server_info& self) -> std::shared_ptr<mailroom::acceptor> {
                acceptor_options o = server;
                o.host = self.host;
                o.port = self.port;
                if (auto it = self.options.find("bufferMsg");
                    it != self.options.end() && (it->second == "true" || it->second == "1"))
                    o.link.batch = true;
                return make_acceptor(std::move(ex), std::move(o));
            },
            make_protocol()};
}

} // namespace mailroom::pomelo
