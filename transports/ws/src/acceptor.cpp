#include "connection.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/detail/listen.hpp>
#include <mailroom/ws/acceptor.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::ws {
namespace {

using detail::ws_connection;

class ws_acceptor final : public ws::acceptor, public std::enable_shared_from_this<ws_acceptor> {
public:
    ws_acceptor(asio::any_io_executor ex, acceptor_options options)
        : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), acceptor_(strand_),
          retry_timer_(strand_), options_(std::move(options))
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        if (options_.tls.enabled) {
            std::error_code tls_ec;
            tls_ = tcp::detail::make_server_context(options_.tls, tls_ec);
            if (!tls_)
                return tls_ec;
        }
        asio::ip::tcp::endpoint local;
        if (auto ec = tcp::detail::listen(acceptor_, options_.host, options_.port, local))
            return ec;
        port_ = local.port();
        address_ = tcp::detail::to_string(local);
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
        for (auto& w : upgrading_)
            if (auto conn = w.lock())
                conn->close();
        upgrading_.clear();
    }

    std::string local_address() const override { return address_; }
    std::uint16_t port() const override { return port_.load(); }

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        // Each connection on a strand of its own, of a concrete type when it can be.
        if (const auto* io = ex_.target<asio::io_context::executor_type>())
            accept_on(detail::io_strand(*io));
        else
            accept_on(detail::any_strand(ex_));
    }

    template <class Strand>
    void accept_on(Strand strand)
    {
        // (A handler with a concrete parameter: Asio's handler check would instantiate a
        // generic one with its default socket type.)
        acceptor_.async_accept(
            strand, [self = shared_from_this()](const boost::system::error_code& ec,
                                                detail::basic_plain_stream<Strand> socket) {
                self->on_accept(ec, std::move(socket));
            });
    }

    template <class Socket>
    void on_accept(const boost::system::error_code& ec, Socket socket)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) {
            // Out of descriptors and the like: wait instead of spinning on the error.
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
        using strand_type = typename Socket::executor_type;
        if (tls_)
            upgrade(std::make_shared<ws_connection<detail::basic_tls_stream<strand_type>>>(
                std::move(socket), options_, tls_));
        else
            upgrade(std::make_shared<ws_connection<detail::basic_plain_stream<strand_type>>>(
                std::move(socket), options_));
        do_accept();
    }

    /// The core sees a connection only once its upgrade succeeded.
    template <class Connection>
    void upgrade(std::shared_ptr<Connection> conn)
    {
        {
            std::lock_guard lock(mu_);
            std::erase_if(upgrading_, [](const auto& w) { return w.expired(); });
            upgrading_.push_back(conn);
        }
        asio::post(conn->executor(), [self = shared_from_this(), conn] {
            conn->upgrade([self](std::shared_ptr<Connection> c) {
                asio::post(self->strand_, [self, c] { self->hand_over(c); });
            });
        });
    }

    /// On the strand: gives the connection to the core, or closes it if nobody takes it.
    template <class Connection>
    void hand_over(std::shared_ptr<Connection> conn)
    {
        {
            std::lock_guard lock(mu_);
            std::erase_if(upgrading_, [&](const auto& w) { return w.lock() == conn; });
            if (closed_)
                return conn->close_link(false);
        }
        auto handler = on_accept_(conn);
        if (!handler)
            return conn->close();
        asio::post(conn->executor(), [conn, handler]() mutable { conn->open(std::move(handler)); });
    }

    asio::any_io_executor ex_;
    asio::strand<asio::any_io_executor> strand_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    acceptor_options options_;
    std::shared_ptr<tcp::detail::tls_context> tls_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_, closed_ and upgrading_
    bool closed_ = false;
    // Connections still upgrading: close() aborts them, the core never saw them.
    std::vector<std::weak_ptr<mailroom::connection>> upgrading_;
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<ws_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::ws
