#pragma once

#include "support/wait.hpp"
#include "transports/cluster.hpp"

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <cstdint>
#include <string_view>

namespace mailroom::test {

/// The method path of `service.method` on the server type "echo".
inline protocol::method_path echo_path(std::string_view service, std::string_view method)
{
    return {.server_type = "echo", .service = service, .method = method};
}

/** A @ref cluster over plain loopback TCP, addressed by port: the server is "echo-1" and
    binds port 0; the client's mail boxes use `client_stream`.
*/
class tcp_cluster : public cluster {
public:
    explicit tcp_cluster(int threads = 2, mail_station_options station_options = {},
                         tcp::stream_options client_stream = {});

    /// The running server's port.
    std::uint16_t port() const { return address().port; }

    using cluster::add_echo_server;
    /// Tells the station that echo-1 is at `port` on 127.0.0.1.
    void add_echo_server(std::uint16_t port);
};

} // namespace mailroom::test
