#pragma once

#include "transports/conformance.hpp"

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::test {

/** An echo server and a client in one process over the transport under test, with the I/O
    on `threads` threads. The server is "echo-1" (type "echo") with echoRemote.echo/add/fail;
    the client's station knows it once it started. The generalisation of tcp_cluster.
*/
class cluster {
public:
    /// The station logs nowhere unless `station_options.log.sink` is set.
    explicit cluster(const transport_under_test& t, int threads = 2,
                     mail_station_options station_options = {});
    /// The same, keeping `t` as long as the cluster.
    explicit cluster(transport_param t, int threads = 2, mail_station_options station_options = {});
    ~cluster();

    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    /// Starts the server at a fresh address.
    void start_server();
    /// Starts (or restarts) the server at `at` (a released reservation or an earlier address).
    void start_server(const server_info& at);
    void stop_server();
    /// Where the running server listens.
    const server_info& address() const { return address_; }

    /// Tells the station that echo-1 is at `at`.
    void add_echo_server(server_info at);

    const transport_under_test& transport;
    boost::asio::io_context ioc;
    std::optional<server> srv;
    std::optional<mail_station> station;
    router routes;
    std::optional<proxy> rpc;

    std::string server_id = "echo-1";
    std::string server_type = "echo";
    /// The server's `max_frame_size` (requests above it close the link, results above it
    /// answer frame_too_large).
    std::size_t server_max_frame_size = 8u << 20;
    /// The server's `max_in_flight_per_connection`.
    std::size_t server_max_in_flight_per_connection = 16'384;
    /// The server's logger (by default it logs nothing).
    logger server_log{.min_level = log_level::off};
    /// The server's authentication (by default none).
    auth_options server_auth{};
    /// Binds more methods on every (re)started server.
    std::function<void(dispatcher&)> bind_more;

private:
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
    server_info address_;
    transport_param owned_; // set when the cluster keeps its transport
};

} // namespace mailroom::test
