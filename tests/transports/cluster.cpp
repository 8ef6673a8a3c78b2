#include "transports/cluster.hpp"

#include <stdexcept>
#include <system_error>

namespace mailroom::test {

cluster::cluster(const transport_under_test& t, int threads, mail_station_options station_options)
    : transport(t), work_(ioc.get_executor())
{
    if (!station_options.log.sink)
        station_options.log.min_level = log_level::off;
    station.emplace(ioc.get_executor(), std::move(station_options));
    station->add_transport(t.fresh_address().transport, t.make_mailbox_factory(), t.protocol());
    rpc.emplace(*station, routes);
    for (int i = 0; i < threads; ++i)
        threads_.emplace_back([this] { ioc.run(); });
}

cluster::cluster(transport_param t, int threads, mail_station_options station_options)
    : cluster(*t, threads, std::move(station_options))
{
    owned_ = std::move(t);
}

cluster::~cluster()
{
    station->close();
    if (srv)
        srv->stop();
    work_.reset();
    for (auto& t : threads_)
        t.join();
}

void cluster::start_server() { start_server(transport.fresh_address()); }

void cluster::start_server(const server_info& at)
{
    srv.emplace(ioc.get_executor(), server_options{.server_id = server_id,
                                                   .max_frame_size = server_max_frame_size,
                                                   .max_in_flight_per_connection =
                                                       server_max_in_flight_per_connection,
                                                   .log = server_log,
                                                   .auth = server_auth});
    auto& d = srv->get_dispatcher();
    d.add("echoRemote", "echo", [](std::string s) { return s; });
    d.add("echoRemote", "add", [](int a, int b) { return a + b; });
    d.add("echoRemote", "fail", [](std::string why) -> int { throw std::runtime_error(why); });
    if (bind_more)
        bind_more(d);
    auto acceptor = transport.make_acceptor(ioc.get_executor(), at, server_max_frame_size);
    if (auto ec = srv->listen(acceptor, transport.protocol()))
        throw std::system_error(ec, "listen");
    address_ = transport.address_of(*acceptor, at);
    add_echo_server(address_);
}

void cluster::stop_server()
{
    if (srv)
        srv->stop();
}

void cluster::add_echo_server(server_info at)
{
    at.id = server_id;
    at.server_type = server_type;
    station->add_server(std::move(at));
}

} // namespace mailroom::test
