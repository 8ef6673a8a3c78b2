#include "connection.hpp"

#include <mailroom/tcp/accept_loop.hpp>
#include <mailroom/tcp/socket.hpp>
#include <mailroom/ws/acceptor.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <utility>

namespace mailroom::ws {
namespace {

using detail::accepted_connection;
using detail::ws_connection;

/** Upgrades each accepted socket (the TLS handshake first, with `wss`); the core sees a
    connection only once its upgrade succeeded. Listening, the accept loop and closing the
    connections still upgrading are `tcp::accept_loop`'s.
*/
class ws_acceptor final
    : public tcp::accept_loop<ws_acceptor, ws::acceptor, acceptor_options, accepted_connection> {
    using base = tcp::accept_loop<ws_acceptor, ws::acceptor, acceptor_options, accepted_connection>;
    friend base;

public:
    using base::base;

private:
    /// The links of this transport run on a type-erased strand (`detail::strand_type`).
    template <class Make>
    static auto with_accept_strand(const asio::any_io_executor& ex, Make&& make)
    {
        return std::forward<Make>(make)(tcp::any_strand(ex));
    }

    /// Thread-safe: a connection still upgrading closes at once, without flushing.
    static void abort_opening(accepted_connection& conn) { conn.abort(); }

    /// On the acceptor's strand: starts the upgrade of `socket` on its own strand.
    void accepted(tcp::basic_plain_socket<tcp::any_strand> socket, tcp::connection_slot slot)
    {
        const detail::strand_type strand = socket.get_executor();
        asio::ip::tcp::socket s(std::move(socket));
        if (tls_)
            upgrade(std::make_shared<ws_connection<detail::tls_layer>>(strand, std::move(s),
                                                                       options_, tls_),
                    std::move(slot));
        else
            upgrade(std::make_shared<ws_connection<detail::plain_layer>>(strand, std::move(s),
                                                                         options_),
                    std::move(slot));
    }

    template <class Connection>
    void upgrade(std::shared_ptr<Connection> conn, tcp::connection_slot slot)
    {
        conn->hold(std::move(slot));
        track_opening(conn);
        asio::post(conn->strand(), [self = shared_from_this(), conn] {
            conn->upgrade([self](std::shared_ptr<accepted_connection> c) {
                asio::post(self->strand_, [self, c] {
                    if (!self->finish_opening(c))
                        return c->abort();
                    self->hand_over(c, c->strand());
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
