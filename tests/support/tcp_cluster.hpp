#pragma once

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include "support/wait.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::test {

/// The method path of `service.method` on the server type "echo".
inline protocol::method_path echo_path(std::string_view service, std::string_view method)
{
    return {.server_type = "echo", .service = service, .method = method};
}

/** A server and a client in one process over loopback TCP, with the I/O on `threads`
    threads. The server is "echo-1" and binds port 0; the client's station knows it.
*/
class tcp_cluster {
public:
    explicit tcp_cluster(int threads = 2, mail_station_options station_options = {},
                         tcp::stream_options client_stream = {});
    ~tcp_cluster();

    /// Starts (or restarts) the server, on `port` (0 = a free one).
    void start_server(std::uint16_t port = 0);
    void stop_server();
    std::uint16_t port() const { return port_; }

    /// Adds the server at `port` to the station (start_server does it for its own port).
    void add_echo_server(std::uint16_t port);

    boost::asio::io_context ioc;
    std::optional<server> srv;
    std::optional<mail_station> station;
    router routes;
    std::optional<proxy> rpc;

    /// The server's id and type (set before start_server).
    std::string server_id = "echo-1";
    std::string server_type = "echo";

    /// The server's `max_frame_size` (responses above it answer frame_too_large).
    std::size_t server_max_frame_size = 8u << 20;
    /// The server's `max_in_flight_per_connection`.
    std::size_t server_max_in_flight_per_connection = 16'384;

    /// Hook to bind more methods on every (re)started server.
    std::function<void(dispatcher&)> bind_more;

private:
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
    std::shared_ptr<tcp::acceptor> acceptor_;
    std::uint16_t port_ = 0;
};

} // namespace mailroom::test
