#pragma once

// Private to the TCP transport.

#include <mailroom/detail/config.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>

namespace mailroom::tcp::detail {

/** The strand of a link when the executor it was given is an io_context's (the usual case):
    a concrete type, so Asio's operations copy it without allocating and posting to it
    involves no type erasure, unlike an `any_io_executor` holding a strand.
*/
using io_strand = asio::strand<asio::io_context::executor_type>;
/// The strand of a link over any other executor.
using any_strand = asio::strand<asio::any_io_executor>;

/// A plain TCP socket whose handlers run on `Strand`.
template <class Strand>
using basic_plain_socket = asio::basic_stream_socket<asio::ip::tcp, Strand>;
/// TLS over such a socket.
template <class Strand>
using basic_tls_socket = asio::ssl::stream<basic_plain_socket<Strand>>;

/// Whether `Socket` is TLS over a socket (`basic_tls_socket`).
template <class Socket>
inline constexpr bool is_tls_v = false;
template <class Next>
inline constexpr bool is_tls_v<asio::ssl::stream<Next>> = true;

/** Calls `make(strand)` with the concrete `io_strand` over `ex` when `ex` is an io_context's
    executor, else with an `any_strand`, and returns what it returns.
*/
template <class Make>
auto with_strand(const asio::any_io_executor& ex, Make&& make)
{
    if (const auto* io = ex.target<asio::io_context::executor_type>())
        return make(io_strand(*io));
    return make(any_strand(ex));
}

} // namespace mailroom::tcp::detail
