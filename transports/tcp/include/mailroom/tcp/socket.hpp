#pragma once

#include <mailroom/detail/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>

#include <utility>

namespace mailroom::tcp {

/** The strand of a link when the executor it was given is an io_context's (the usual case):
    a concrete type, so Asio's operations copy it without allocating and posting to it
    involves no type erasure, unlike an `any_io_executor` holding a strand.

    @par Thread safety
    As `asio::strand`: copies may be used from any thread.

    @par Example
    @code
    mailroom::tcp::io_strand strand(ioc.get_executor());
    mailroom::tcp::basic_plain_socket<mailroom::tcp::io_strand> socket(strand);
    @endcode
*/
using io_strand = asio::strand<asio::io_context::executor_type>;
/// The strand of a link over any other executor.
using any_strand = asio::strand<asio::any_io_executor>;

/// A plain TCP socket whose handlers run on `Strand` (@ref io_strand or @ref any_strand).
template <class Strand>
using basic_plain_socket = asio::basic_stream_socket<asio::ip::tcp, Strand>;
/// TLS over such a socket.
template <class Strand>
using basic_tls_socket = asio::ssl::stream<basic_plain_socket<Strand>>;

/// Whether `Socket` is TLS over a socket (@ref basic_tls_socket).
template <class Socket>
inline constexpr bool is_tls_v = false;
template <class Next>
inline constexpr bool is_tls_v<asio::ssl::stream<Next>> = true;

/** Calls `make(strand)` with a new @ref io_strand over `ex` when `ex` is an io_context's
    executor, else with a new @ref any_strand, and returns what it returns. `make` must
    accept both (a generic lambda) and return the same type for both.

    @par Thread safety
    Any thread; it only makes a strand.

    @par Example
    @code
    auto link = mailroom::tcp::with_strand(ex, [&](auto strand) -> std::shared_ptr<base> {
        return std::make_shared<my_link<decltype(strand)>>(strand);
    });
    @endcode
*/
template <class Make>
auto with_strand(const asio::any_io_executor& ex, Make&& make)
{
    if (const auto* io = ex.target<asio::io_context::executor_type>())
        return std::forward<Make>(make)(io_strand(*io));
    return std::forward<Make>(make)(any_strand(ex));
}

} // namespace mailroom::tcp
