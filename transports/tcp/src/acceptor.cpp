#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/acceptor.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <mutex>
#include <string>

namespace mailroom::tcp {
namespace {

std::string to_string(const asio::ip::tcp::endpoint& ep)
{
    auto addr = ep.address();
    std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    return host + ":" + std::to_string(ep.port());
}

class tcp_connection final : public connection, public detail::framed_stream {
public:
    tcp_connection(socket_type socket, const acceptor_options& options)
        : framed_stream(std::move(socket), options.stream, options.max_frame_size)
    {
        boost::system::error_code ec;
        auto ep = this->socket().remote_endpoint(ec);
        remote_ = ec ? std::string("unknown") : to_string(ep);
        this->socket().set_option(asio::ip::tcp::no_delay(options.stream.no_delay), ec);
    }

    /// On the strand: attach the core's handler and start reading.
    void open(std::shared_ptr<connection_handler> handler)
    {
        handler_ = std::move(handler);
        start();
    }

    void send(frame f) override { send_frame(std::move(f)); }
    void close() override { close_stream(true); }
    std::string remote_address() const override { return remote_; }
    std::size_t queued_bytes() const noexcept override { return queued(); }

private:
    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void closed(std::error_code ec, bool) override
    {
        // The session holds this connection; dropping the handler here breaks that cycle.
        if (auto h = std::move(handler_))
            h->on_close(ec);
    }

    std::shared_ptr<connection_handler> handler_;
    std::string remote_;
};

class tcp_acceptor final : public tcp::acceptor,
                           public std::enable_shared_from_this<tcp_acceptor> {
public:
    tcp_acceptor(asio::any_io_executor ex, acceptor_options options)
        : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), acceptor_(strand_),
          retry_timer_(strand_), options_(std::move(options))
    {
    }

    std::error_code start(accept_handler on_accept) override
    {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(options_.host, ec);
        asio::ip::tcp::endpoint ep;
        if (ec) {
            asio::ip::tcp::resolver resolver(ex_);
            auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
            if (ec)
                return mailroom::detail::to_std_error(ec);
            ep = *results.begin();
        } else {
            ep = asio::ip::tcp::endpoint(addr, options_.port);
        }
        if (acceptor_.open(ep.protocol(), ec) ||
            acceptor_.set_option(asio::socket_base::reuse_address(true), ec) ||
            acceptor_.bind(ep, ec) || acceptor_.listen(asio::socket_base::max_listen_connections, ec))
            return mailroom::detail::to_std_error(ec);
        auto local = acceptor_.local_endpoint(ec);
        port_ = local.port();
        address_ = to_string(local);
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
    }

    std::string local_address() const override { return address_; }
    std::uint16_t port() const override { return port_.load(); }

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        acceptor_.async_accept(
            asio::make_strand(ex_),
            [self = shared_from_this()](const boost::system::error_code& ec,
                                        asio::ip::tcp::socket socket) {
                self->on_accept(ec, std::move(socket));
            });
    }

    void on_accept(const boost::system::error_code& ec, asio::ip::tcp::socket socket)
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
        auto conn = std::make_shared<tcp_connection>(std::move(socket), options_);
        auto handler = on_accept_(conn);
        if (!handler) {
            conn->close();
        } else {
            asio::post(conn->executor(), [conn, handler]() mutable {
                conn->open(std::move(handler));
            });
        }
        do_accept();
    }

    asio::any_io_executor ex_;
    asio::strand<asio::any_io_executor> strand_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    acceptor_options options_;
    accept_handler on_accept_;
    std::atomic<std::uint16_t> port_{0};
    std::string address_;
    std::mutex mu_; // guards acceptor_, retry_timer_ and closed_: close() runs on any thread
    bool closed_ = false;
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<tcp_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::tcp
