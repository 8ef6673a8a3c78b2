#include "connection.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/tls_context.hpp>
#include <mailroom/ws/acceptor.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace mailroom::ws {
namespace {

using detail::accepted_connection;
using detail::ws_connection;

/// "127.0.0.1:41234" or "[::1]:41234".
std::string to_string(const asio::ip::tcp::endpoint& ep)
{
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

/** Listens, accepts each socket onto a strand of its own, and upgrades it; the core sees a
    connection only once its upgrade succeeded. Connections still upgrading are kept so that
    `close` closes them too. On errors such as running out of descriptors it waits instead
    of spinning.
*/
class ws_acceptor final : public ws::acceptor, public std::enable_shared_from_this<ws_acceptor> {
public:
    ws_acceptor(asio::any_io_executor ex, acceptor_options options)
        : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), options_(std::move(options)),
          acceptor_(strand_), retry_timer_(strand_)
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        if (options_.tls.enabled) {
            std::error_code tls_ec;
            tls_ = tcp::make_server_context(options_.tls, tls_ec);
            if (!tls_)
                return tls_ec;
        }
        if (auto ec = listen())
            return ec;
        on_accept_ = std::move(on_accept);
        asio::post(strand_, [self = shared_from_this()] { self->do_accept(); });
        return {};
    }

    void close() override
    {
        // Closed here rather than on the strand, so the port is free when close() returns
        // (a server restarting on the same port binds right after stop()).
        std::lock_guard lock(mu_);
        closed_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_timer_.cancel();
        for (auto& w : opening_)
            if (auto conn = w.lock())
                conn->abort();
        opening_.clear();
    }

    std::string local_address() const override { return address_; }
    std::uint16_t port() const override { return port_.load(); }

private:
    std::error_code listen()
    {
        boost::system::error_code ec;
        asio::ip::tcp::endpoint ep;
        const auto addr = asio::ip::make_address(options_.host, ec);
        if (ec) {
            asio::ip::tcp::resolver resolver(ex_);
            auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
            if (ec)
                return mailroom::detail::to_std_error(ec);
            ep = *results.begin();
        } else {
            ep = asio::ip::tcp::endpoint(addr, options_.port);
        }
        // SO_REUSEADDR: a restarted server gets its port back.
        if (acceptor_.open(ep.protocol(), ec) ||
            acceptor_.set_option(asio::socket_base::reuse_address(true), ec) ||
            acceptor_.bind(ep, ec) || acceptor_.listen(asio::socket_base::max_listen_connections, ec))
            return mailroom::detail::to_std_error(ec);
        const auto local = acceptor_.local_endpoint(ec);
        if (ec)
            return mailroom::detail::to_std_error(ec);
        port_ = local.port();
        address_ = to_string(local);
        return {};
    }

    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        auto strand = asio::make_strand(ex_);
        acceptor_.async_accept(asio::any_io_executor(strand),
                               [self = shared_from_this(), strand](const boost::system::error_code& ec,
                                                                   asio::ip::tcp::socket socket) {
                                   self->on_accept(ec, strand, std::move(socket));
                               });
    }

    void on_accept(const boost::system::error_code& ec, const detail::strand_type& strand,
                   asio::ip::tcp::socket socket)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) {
            std::lock_guard lock(mu_);
            if (closed_)
                return;
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e)
                    self->do_accept();
            });
            return;
        }
        if (tls_)
            upgrade(std::make_shared<ws_connection<detail::tls_layer>>(strand, std::move(socket),
                                                                       options_, tls_));
        else
            upgrade(std::make_shared<ws_connection<detail::plain_layer>>(strand, std::move(socket),
                                                                         options_));
        do_accept();
    }

    template <class Connection>
    void upgrade(std::shared_ptr<Connection> conn)
    {
        {
            std::lock_guard lock(mu_);
            std::erase_if(opening_, [](const auto& w) { return w.expired(); });
            opening_.push_back(conn);
        }
        asio::post(conn->strand(), [self = shared_from_this(), conn] {
            conn->upgrade([self](std::shared_ptr<accepted_connection> c) {
                asio::post(self->strand_, [self, c] { self->hand_over(c); });
            });
        });
    }

    /// On the acceptor's strand: gives the upgraded connection to the core.
    void hand_over(const std::shared_ptr<accepted_connection>& conn)
    {
        {
            std::lock_guard lock(mu_);
            std::erase_if(opening_, [&](const auto& w) { return w.expired() || w.lock() == conn; });
            if (closed_)
                return conn->abort();
        }
        auto handler = on_accept_(conn);
        if (!handler)
            return conn->close();
        asio::post(conn->strand(), [conn, handler]() mutable { conn->open(std::move(handler)); });
    }

    asio::any_io_executor ex_;
    detail::strand_type strand_;
    acceptor_options options_;
    std::shared_ptr<tcp::tls_context> tls_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_, closed_ and opening_
    bool closed_ = false;
    // Connections not handed to the core yet: close() must not leave them behind.
    std::vector<std::weak_ptr<accepted_connection>> opening_;
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<ws_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::ws
