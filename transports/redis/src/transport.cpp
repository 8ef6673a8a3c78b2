#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/transport.hpp>

namespace mailroom::redis {

transport make_transport(transport_options options)
{
    options.client.default_url = options.default_url;
    return {make_mailbox_factory(options.client),
            [server = options.server, fallback = options.default_url](
                asio::any_io_executor ex, const server_info& self) -> std::shared_ptr<mailroom::acceptor> {
                acceptor_options o = server;
                auto it = self.options.find("redis_url");
                o.url = it != self.options.end() ? it->second : fallback;
                o.node_id = node_of(self);
                return make_acceptor(std::move(ex), std::move(o));
            },
            protocol()};
}

} // namespace mailroom::redis
