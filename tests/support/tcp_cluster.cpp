#include "tcp_cluster.hpp"

#include "transports/under_test.hpp"

#include <utility>

namespace mailroom::test {

tcp_cluster::tcp_cluster(int threads, mail_station_options station_options,
                         tcp::stream_options client_stream)
    : cluster(make_tcp_under_test(false, client_stream), threads, std::move(station_options))
{
}

void tcp_cluster::add_echo_server(std::uint16_t port)
{
    auto at = transport.fresh_address();
    at.port = port;
    cluster::add_echo_server(std::move(at));
}

} // namespace mailroom::test
