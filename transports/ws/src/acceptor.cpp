#include "connection.hpp"

#include <mailroom/tcp/detail/accept_loop.hpp>
#include <mailroom/ws/acceptor.hpp>

#include <boost/asio/post.hpp>

#include <memory>

namespace mailroom::ws {
namespace {

using detail::ws_connection;

class ws_acceptor final
    : public tcp::detail::accept_loop<ws_acceptor, ws::acceptor, acceptor_options> {
    using base = tcp::detail::accept_loop<ws_acceptor, ws::acceptor, acceptor_options>;
    friend base;

public:
    using base::base;

private:
    /// On the strand: every connection upgrades before the core sees it.
    template <class Strand>
    void accepted(detail::basic_plain_stream<Strand> socket)
    {
        if (tls_)
            upgrade(std::make_shared<ws_connection<detail::basic_tls_stream<Strand>>>(
                std::move(socket), options_, tls_));
        else
            upgrade(std::make_shared<ws_connection<detail::basic_plain_stream<Strand>>>(
                std::move(socket), options_));
    }

    /// The core sees a connection only once its upgrade succeeded.
    template <class Connection>
    void upgrade(std::shared_ptr<Connection> conn)
    {
        track_opening(conn);
        asio::post(conn->executor(), [self = shared_from_this(), conn] {
            conn->upgrade([self](std::shared_ptr<Connection> c) {
                asio::post(self->strand_, [self, c] {
                    if (!self->finish_opening(c))
                        return c->close_link(false);
                    self->hand_over(c);
                });
            });
        });
    }
};

} // namespace

std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<ws_acceptor>(std::move(ex), std::move(options));
}

} // namespace mailroom::ws
