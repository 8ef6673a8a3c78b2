#include "tcp_cluster.hpp"

#include <stdexcept>

namespace mailroom::test {

tcp_cluster::tcp_cluster(int threads, mail_station_options station_options,
                         tcp::stream_options client_stream)
    : work_(ioc.get_executor())
{
    station_options.log.min_level = log_level::off;
    station.emplace(ioc.get_executor(), std::move(station_options));
    station->add_transport("tcp", tcp::make_mailbox_factory(client_stream));
    rpc.emplace(*station, routes);
    for (int i = 0; i < threads; ++i)
        threads_.emplace_back([this] { ioc.run(); });
}

tcp_cluster::~tcp_cluster()
{
    station->close();
    if (srv)
        srv->stop();
    work_.reset();
    for (auto& t : threads_)
        t.join();
}

void tcp_cluster::start_server(std::uint16_t port)
{
    srv.emplace(ioc.get_executor(), server_options{.server_id = server_id,
                                                   .max_frame_size = server_max_frame_size,
                                                   .max_in_flight_per_connection =
                                                       server_max_in_flight_per_connection,
                                                   .log = {.min_level = log_level::off}});
    auto& d = srv->get_dispatcher();
    d.add("echoRemote", "echo", [](std::string s) { return s; });
    d.add("echoRemote", "add", [](int a, int b) { return a + b; });
    d.add("echoRemote", "fail", [](std::string why) -> int { throw std::runtime_error(why); });
    if (bind_more)
        bind_more(d);
    acceptor_ = tcp::make_acceptor(ioc.get_executor(), {.port = port});
    if (auto ec = srv->listen(acceptor_))
        throw std::system_error(ec, "listen");
    port_ = acceptor_->port();
    add_echo_server(port_);
}

void tcp_cluster::stop_server()
{
    if (srv)
        srv->stop();
}

void tcp_cluster::add_echo_server(std::uint16_t port)
{
    station->add_server({.id = server_id, .server_type = server_type, .host = "127.0.0.1", .port = port});
}

} // namespace mailroom::test
