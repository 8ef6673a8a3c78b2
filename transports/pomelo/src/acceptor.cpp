#include "link.hpp"

#include <mailroom/pomelo/acceptor.hpp>
#include <mailroom/tcp/accept_loop.hpp>
#include <mailroom/tcp/listen.hpp>

#include <memory>
#include <string>

namespace mailroom::pomelo {
namespace {

/// One accepted link from a pomelo-rpc client.
template <class Strand>
class pomelo_connection final : public connection, public detail::mqtt_link<Strand> {
    using base = detail::mqtt_link<Strand>;

public:
    pomelo_connection(typename base::socket_type socket, const link_options& options)
        : base(std::move(socket), options), remote_(tcp::peer_address(this->socket()))
    {
    }

    /// On the strand: attach the core's handler and start reading.
    void open(std::shared_ptr<connection_handler> handler)
    {
        if (this->finished())
            return handler->on_close(std::make_error_code(std::errc::operation_canceled));
        handler_ = std::move(handler);
        this->start();
    }

    void hold(tcp::connection_slot slot) noexcept { slot_ = std::move(slot); }
    void send(frame f) override { this->send_body(std::move(f)); }
    // A stock client does not notice a close (it has no close handler) until its next ping:
    // the core closes only for a broken peer or at shutdown.
    void close() override { this->close_link(true); }
    std::string remote_address() const override { return remote_; }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    void deliver(std::span<const char> body) override
    {
        if (handler_)
            handler_->on_message(body);
    }

    void closed(std::error_code ec, bool) override
    {
        if (auto h = std::move(handler_))
            h->on_close(ec);
    }

    std::shared_ptr<connection_handler> handler_;
    std::string remote_;
    tcp::connection_slot slot_;
};

/// What the accept loop reads: acceptor_options, and TLS off (pomelo-rpc has none).
struct loop_options {
    std::string host;
    std::uint16_t port = 0;
    tcp::tls_options tls{};
    std::size_t max_connections = 0;
    logger log{};
    link_options link{};
};

class pomelo_acceptor final
    : public tcp::accept_loop<pomelo_acceptor, tcp::acceptor, loop_options> {
    using base = tcp::accept_loop<pomelo_acceptor, tcp::acceptor, loop_options>;
    friend base;

public:
    using base::base;

private:
    template <class Strand>
    void accepted(tcp::basic_plain_socket<Strand> socket, tcp::connection_slot slot)
    {
        auto conn = std::make_shared<pomelo_connection<Strand>>(std::move(socket), options_.link);
        conn->hold(std::move(slot));
        hand_over(std::move(conn));
    }
};

} // namespace

std::shared_ptr<tcp::acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    loop_options o{.host = std::move(options.host),
                   .port = options.port,
                   .max_connections = options.max_connections,
                   .log = std::move(options.log),
                   .link = options.link};
    return std::make_shared<pomelo_acceptor>(std::move(ex), std::move(o));
}

} // namespace mailroom::pomelo
