#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/listen.hpp>

namespace mailroom::tcp {

std::string format_endpoint(const asio::ip::tcp::endpoint& ep)
{
    // Appended piece by piece: `"[" + std::string&&` trips g++ 12's -Wrestrict (PR 105329).
    const auto addr = ep.address();
    std::string out;
    if (addr.is_v6())
        out += '[';
    out += addr.to_string();
    if (addr.is_v6())
        out += ']';
    out += ':';
    out += std::to_string(ep.port());
    return out;
}

std::error_code listen(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                       std::uint16_t port, asio::ip::tcp::endpoint& local)
{
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    asio::ip::tcp::endpoint ep;
    if (ec) {
        asio::ip::tcp::resolver resolver(acceptor.get_executor());
        auto results = resolver.resolve(host, std::to_string(port), ec);
        if (ec)
            return mailroom::detail::to_std_error(ec);
        ep = *results.begin();
    } else {
        ep = asio::ip::tcp::endpoint(addr, port);
    }
    if (acceptor.open(ep.protocol(), ec) ||
        acceptor.set_option(asio::socket_base::reuse_address(true), ec) ||
        acceptor.bind(ep, ec) || acceptor.listen(asio::socket_base::max_listen_connections, ec))
        return mailroom::detail::to_std_error(ec);
    local = acceptor.local_endpoint(ec);
    return mailroom::detail::to_std_error(ec);
}

} // namespace mailroom::tcp
