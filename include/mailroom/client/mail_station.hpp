#pragma once

#include <mailroom/auth.hpp>
#include <mailroom/client/call_options.hpp>
#include <mailroom/client/mailbox.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/logger.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

namespace detail {
struct station_access;
} // namespace detail

/// Options of a @ref mail_station. Every limit fails calls with a named error when hit.
struct mail_station_options {
    /// This process's server id, sent in the handshake. Default: empty (a pure client).
    std::string client_id{};
    /// Time a call waits for its response, from the moment it is made. Default: 30 s
    /// (pomelo's). A call can override it. Deadlines are taken from the kernel's coarse
    /// clock (detail::deadline_clock): accurate to about one clock tick (1-4 ms on Linux).
    std::chrono::milliseconds request_timeout{30'000};
    /// Time to connect and complete the handshake, retrying refused connects meanwhile.
    /// Calls queued while connecting fail with `connect_failed` after it, or at once when
    /// the failure cannot heal (wrong server id, version mismatch, untrusted certificate,
    /// WebSocket 401/404). Default: 5 s.
    std::chrono::milliseconds connect_timeout{5'000};
    /// First delay between connect attempts inside the connect timeout; doubles each time.
    /// Default: 20 ms.
    std::chrono::milliseconds reconnect_delay{20};
    /// Cap of the delay between connect attempts. Default: 1 s.
    std::chrono::milliseconds max_reconnect_delay{1'000};
    /** A server whose connect cycle failed (`connect_timeout` ran out, or an error that
        cannot heal) is marked down: calls to it fail at once with that cycle's error
        (`connect_failed`, never sent) instead of each waiting `connect_timeout`, routers skip
        it where they can (see route_context::down), and it is probed in the background
        after `probe_delay`, then after twice that, up to `max_probe_delay`, each delay
        jittered into [d/2, d]. The first probe that connects marks it up. Zero: never down
        (each call to an unreachable server starts a connect cycle of its own and waits it
        out). Default: 1 s, up to 30 s.
    */
    std::chrono::milliseconds probe_delay{1'000};
    std::chrono::milliseconds max_probe_delay{30'000};
    /// Calls (and notifies) queued per server while its mail box connects. One more fails
    /// with `queue_full`. Default: 10,000 (pomelo's, which drops the overflow silently).
    std::size_t max_pending_per_server = 10'000;
    /// Calls waiting for a response per server (sent or queued). One more fails with
    /// `queue_full`. Default: 65,536.
    std::size_t max_in_flight_per_server = 65'536;
    /// Bytes a server's mail box may hold unsent (the server reads slower than we write),
    /// and bytes queued per server while it connects. A call or notify beyond it fails with
    /// `queue_full`. Default: 32 MiB.
    std::size_t max_queued_bytes_per_server = 32u << 20;
    /// Largest message body sent to or accepted from a server, in bytes; a larger call fails
    /// with `frame_too_large`. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// Time the calls already sent to a server that left the table (removed, or replaced by
    /// one at another address) may still take to be answered on its link; those left then
    /// fail with `disconnected`. Zero: they fail at once. Default: 5 s.
    std::chrono::milliseconds drain_timeout{5'000};
    /// Where the station logs connects, disconnects and protocol errors.
    logger log{};
    /** Shared-secret authentication of the native handshake (see @ref auth_options): with a
        secret, every link proves it and requires the server to prove it first; calls to a
        server that refuses it or cannot prove it complete with `auth_failed`,
        `auth_required` or `auth_unavailable`, and so does every call to that server for
        `max_reconnect_delay` afterwards (no link is opened per call meanwhile). The
        constructor throws std::invalid_argument for a secret shorter than 16 bytes.
        `required` is not used by a station. Default: none.
    */
    auth_options auth{};
};

/** The mail station: one mail box per remote server, created lazily on the first call.

    It keeps the server table, turns a server id into a mail box through the factory
    registered for the server's transport name, queues calls while that mail box connects
    (bounded), matches responses to calls by request id, and applies timeouts. Every call
    completes exactly once: with its response (which may carry the remote's error), or with
    one of `timeout`, `disconnected` (sent, outcome unknown), `not_sent` (never left: safe to
    retry), `connect_failed`, `version_mismatch`, `wrong_server`, `auth_failed`,
    `auth_required`, `auth_unavailable`, `queue_full`,
    `frame_too_large` (above `max_frame_size`), `not_encodable` (an argument with no form in
    the server's protocol), `no_target_server`, `unknown_server`, `unknown_transport` or
    `cancelled` (docs/protocol.md lists what the caller may do after each).

    Calls are made through a @ref proxy.

    @par Thread safety
    All member functions may be called from any thread, concurrently.

    @par Example
    @code
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "connector-1"});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "chat-1", .server_type = "chat", .host = "127.0.0.1", .port = 3150});
    @endcode
*/
class mail_station {
public:
    using executor_type = asio::any_io_executor;

    explicit mail_station(executor_type ex, mail_station_options options = {});

    /// Closes the station: pending calls complete with `cancelled`.
    ~mail_station();

    mail_station(const mail_station&) = delete;
    mail_station& operator=(const mail_station&) = delete;

    executor_type get_executor() const noexcept;

    const mail_station_options& options() const noexcept;

    /** Registers the factory used for servers whose `transport` is `name`, and the protocol
        those servers speak (null: the native one). Calls to them are encoded by it.
    */
    void add_transport(std::string name, mailbox_factory factory,
                       std::shared_ptr<const wire_protocol> protocol = nullptr);

    /// Adds a server, or replaces the one with the same id (see @ref replace_servers).
    void add_server(server_info server);

    /** Removes a server. Its calls not sent yet fail with `not_sent` at once; its calls
        already sent may still be answered during `drain_timeout` (then they fail with
        `disconnected`); new calls to it fail with `unknown_server`.
    */
    void remove_server(std::string_view id);

    /** Replaces the whole table. A server that vanished, or whose link changed (id, host,
        port, transport, transport options or epoch), is closed as by @ref remove_server (a changed
        one gets a new mail box on its next call); one whose weight or server type changed
        keeps its mail box and its calls.
    */
    void replace_servers(std::vector<server_info> servers);

    /// The current server table (a snapshot; never null).
    std::shared_ptr<const server_table> servers() const;

    /** Closes every mail box; every queued and in-flight call completes with `cancelled`,
        and so does every later call. Idempotent.
    */
    void close();

    /// Calls currently waiting for a response or a connection, over all servers (those that
    /// left the table and still drain included).
    std::size_t pending() const;

    /// Counts of the ways calls ended badly, since the station was made.
    struct stats {
        std::uint64_t queue_full = 0;     ///< refused by a bound (pending, in flight, bytes)
        std::uint64_t timeouts = 0;       ///< `timeout`
        std::uint64_t disconnected = 0;   ///< `disconnected` (sent, then the link was lost)
        std::uint64_t connect_failed = 0; ///< `connect_failed`, `version_mismatch`, `wrong_server`, `auth_*`
        std::uint64_t cancelled = 0;      ///< by a cancellation or by close()
        std::uint64_t late_replies = 0;   ///< responses to calls that had already completed
        std::uint64_t not_sent = 0;       ///< `not_sent` (server removed before they left)
    };
    stats counters() const;

    /// The mail box of one server, as @ref mailboxes reports it.
    struct mailbox_status {
        std::string server_id{};
        std::string server_type{};
        /// "none" (never called), "idle", "connecting", "retry_wait", "handshaking", "open",
        /// "draining", "closed", "held", or "down" while the server is marked down.
        std::string state{};
        /// Calls waiting for a response or the link, plus queued notifies.
        std::size_t queue_depth = 0;
        /// Bytes queued while connecting plus bytes the link holds unsent.
        std::size_t queued_bytes = 0;
        /// Links opened after the first.
        std::uint64_t reconnects = 0;
    };

    /** Every server of the current table with its mail box's state and queues (each read
        under that mail box's lock, one at a time: not one instant). For metrics; any thread.
    */
    std::vector<mailbox_status> mailboxes() const;

private:
    friend struct detail::station_access;
    class impl;
    std::shared_ptr<impl> impl_;
};

} // namespace mailroom
