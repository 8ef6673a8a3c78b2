#include "crawlab.hpp"

#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/transport.hpp>

#include <stdexcept>

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
                // Crawlab mode: the entry's "redis_format" and "redis_prefix".
                auto format = detail::format_of(self, o.format);
                if (!format)
                    throw std::invalid_argument("server " + self.id + ": redis_format '" +
                                                self.options.at("redis_format") +
                                                "' (expected native or crawlab)");
                o.format = *format;
                o.crawlab.prefix = detail::prefix_of(self, o.crawlab.prefix);
                return make_acceptor(std::move(ex), std::move(o));
            },
            protocol()};
}

} // namespace mailroom::redis
