#pragma once

#include <mailroom/auth.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/log_limiter.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/metrics/registry.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <system_error>

namespace mailroom {

namespace detail {
struct server_state;
} // namespace detail

/// Options of a @ref server.
struct server_options {
    /// This server's id, sent in the handshake; a client that expects another id refuses the
    /// link. Default: empty (not checked).
    std::string server_id{};
    /// Largest response body sent, in bytes; a larger result is answered with
    /// `frame_too_large`. Keep it equal to the acceptors' limit. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// Calls one connection may have in flight (received, not answered); one more is
    /// answered `server_busy` at once. Default: 16,384.
    std::size_t max_in_flight_per_connection = 16'384;
    /// Where the server logs handshakes and protocol errors.
    logger log{};
    /** Time an accepted connection has to complete the protocol's handshake (the native
        hello); later it closes with `error::handshake_timeout`, whatever it sent meanwhile
        (pings and single bytes do not extend it). Not applied to a protocol without a
        handshake. Enforced by transports that implement `connection::handshake_done` (tcp,
        ws). 0: no deadline. Default: 10 s.
    */
    std::chrono::milliseconds handshake_timeout{10'000};
    /** Largest message body a connection may send before its handshake, in bytes (at most
        the acceptor's `max_frame_size`); larger closes it with `frame_too_large`. A peer
        nobody has heard from yet cannot make the server buffer 8 MiB. 0: the acceptor's limit.
        Default: 64 KiB.
    */
    std::size_t max_frame_size_before_handshake = 64u << 10;
    /** Memory one request's arguments may take once decoded, per byte of the request: at
        most `max_decode_ratio` bytes per byte, on top of a 256 KiB floor. A request beyond
        it (8 MiB of nils would decode to 200 MB) is answered with `frame_too_large` and its
        connection stays open; a notify beyond it is dropped and logged. Each value takes 24
        bytes decoded, so 8 lets an argument hold about one value per 3 bytes of the frame
        (small frames, under the floor, are never limited); raise it, up to 24, for frames
        of more than ~10,000 one-byte values. Default: 8.
    */
    std::size_t max_decode_ratio = 8;
    /** Warnings about bad connections (protocol errors, refusals), rate-limited per peer
        address; the next line written says how many were suppressed. Default: one line per
        address every 10 s.
    */
    log_limit_settings warning_limit{};
    /** Shared-secret authentication of the native handshake (see @ref auth_options): with a
        secret, a peer that does not prove it is refused before any of its calls is
        dispatched (`auth_required`, `auth_failed`), counted in `stats::auth_refused` and
        logged at most once per address per `warning_limit` interval. The constructor
        throws std::invalid_argument for a secret shorter than 16 bytes. Default: none.
    */
    auth_options auth{};
    /** Where the server counts the calls it serves (docs/operations.md, "Metrics"); the App
        sets it. Default: none (nothing counted).
    */
    std::shared_ptr<metrics::registry> metrics{};
};

/** The server side of the call path: acceptors hand it connections, it performs the
    handshake, decodes requests and runs them through its @ref dispatcher.

    A malformed frame closes only the connection it came on. Responses go back on the
    connection the request came from.

    @par Thread safety
    All member functions may be called from any thread, concurrently.

    @par Example
    @code
    mailroom::server srv(ioc.get_executor(), {.server_id = "chat-1"});
    srv.get_dispatcher().add("chatRemote", "add", [](std::string uid) { ... });
    srv.listen(mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 3150}));
    @endcode
*/
class server {
public:
    using executor_type = asio::any_io_executor;

    explicit server(executor_type ex, server_options options = {});

    /// Stops the server (see @ref stop).
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    executor_type get_executor() const noexcept;

    dispatcher& get_dispatcher() noexcept;

    /** Starts `a` and keeps it until @ref stop; its connections speak `protocol` (null: the
        native one). Pass the protocol of the transport the acceptor belongs to, the one its
        links answer pings with. Returns the error if it cannot listen.
    */
    [[nodiscard]] std::error_code listen(std::shared_ptr<acceptor> a,
                                         std::shared_ptr<const wire_protocol> protocol = nullptr);

    /** Starts a graceful stop: stops accepting, and answers every call that arrives from now
        on with `shutting_down` (its handler does not run). Calls already running go on.
        Idempotent.
    */
    void drain();

    /** Stops accepting and closes every connection. Calls in flight are not answered: their
        callers complete with `disconnected`. Idempotent.
    */
    void stop();

    /// Connections currently open.
    std::size_t connections() const;

    /// Calls received and not answered yet.
    std::size_t in_flight() const noexcept;

    /** Sets this incarnation's epoch (docs/membership.md), told to every client in the
        hello_ack from now on; a client that expects another epoch for this server id
        refuses the link with `wrong_server`. 0 (the default): none. Any thread.
    */
    void set_epoch(std::uint64_t epoch) noexcept;

    /// The server filters, run before dispatch (see filters/filter.hpp).
    server_filters& filters() noexcept;

    /// Counts of calls answered with an error, since the server was made.
    struct stats {
        std::uint64_t busy = 0;              ///< `server_busy` (limits, too_busy)
        std::uint64_t deadline_exceeded = 0; ///< expired before they started
        std::uint64_t shutting_down = 0;     ///< refused while draining
        std::uint64_t protocol_errors = 0;   ///< connections closed for bad input
        std::uint64_t remote_errors = 0;     ///< handlers that failed
        std::uint64_t write_overflows = 0;   ///< links closed: the peer did not read answers
        std::uint64_t auth_refused = 0;      ///< links refused by authentication (any reason)
    };
    stats counters() const;

private:
    std::shared_ptr<detail::server_state> state_;
};

} // namespace mailroom
