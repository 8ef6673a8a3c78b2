#pragma once

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/mailbox.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/protocol/frame.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailroom {

namespace detail {
class server_slot;
struct station_shared;
struct station_view;
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
    /// Calls queued while connecting fail with `connect_failed` after it. Default: 5 s.
    std::chrono::milliseconds connect_timeout{5'000};
    /// First delay between connect attempts inside the connect timeout; doubles each time.
    /// Default: 20 ms.
    std::chrono::milliseconds reconnect_delay{20};
    /// Cap of the delay between connect attempts. Default: 1 s.
    std::chrono::milliseconds max_reconnect_delay{1'000};
    /// Calls (and notifies) queued per server while its mail box connects. One more fails
    /// with `queue_full`. Default: 10,000 (pomelo's, which drops the overflow silently).
    std::size_t max_pending_per_server = 10'000;
    /// Calls waiting for a response per server (sent or queued). One more fails with
    /// `queue_full`. Default: 65,536.
    std::size_t max_in_flight_per_server = 65'536;
    /// Bytes a server's mail box may hold unsent (the server reads slower than we write).
    /// A call beyond it fails with `queue_full`. Default: 32 MiB.
    std::size_t max_queued_bytes_per_server = 32u << 20;
    /// Largest message body sent to or accepted from a server, in bytes; a larger call fails
    /// with `frame_too_large`. Default: 8 MiB.
    std::size_t max_frame_size = 8u << 20;
    /// Where the station logs connects, disconnects and protocol errors.
    logger log{};
};

/** The mail station: one mail box per remote server, created lazily on the first call.

    It keeps the server table, turns a server id into a mail box through the factory
    registered for the server's transport name, queues calls while that mail box connects
    (bounded), matches responses to calls by request id, and applies timeouts. Every call
    completes exactly once: with its response (which may carry the remote's error), or with
    `timeout`, `disconnected`, `connect_failed`, `version_mismatch` (the server refused the
    handshake), `queue_full`, `frame_too_large` (above `max_frame_size`), `no_target_server`,
    `unknown_server`, `unknown_transport` or `cancelled`.

    Most code calls through a @ref proxy; the station's own call interface takes an encoded
    frame and a type-erased handler.

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

    /** The executor by reference: valid while the station lives and while any of its calls
        has not completed (completions keep the station's shared state alive).
    */
    const executor_type& executor_ref() const noexcept;

    const mail_station_options& options() const noexcept;

    /// Registers the factory used for servers whose `transport` is `name`.
    void add_transport(std::string name, mailbox_factory factory);

    /// Adds a server, or replaces the one with the same id (its mail box is closed and its
    /// calls fail with `disconnected`).
    void add_server(server_info server);

    /// Removes a server; its queued and in-flight calls fail with `disconnected`.
    void remove_server(std::string_view id);

    /// Replaces the whole table; servers that vanished or changed are closed as by
    /// @ref remove_server.
    void replace_servers(std::vector<server_info> servers);

    /// The current server table (a snapshot; never null).
    std::shared_ptr<const server_table> servers() const;

    /** The current snapshot of the server table together with the mail boxes of its servers
        (never null). A proxy routes on its table and sends on it, so a call takes the
        station's lock once.
    */
    using view_ptr = std::shared_ptr<const detail::station_view>;
    view_ptr view() const;

    /// The server table of a snapshot.
    static const server_table& table_of(const detail::station_view& view) noexcept;

    /// A fresh request id: ids are never reused by a station.
    std::uint64_t next_request_id() noexcept { return next_id_.fetch_add(1) + 1; }

    /** Sends a request frame made by `protocol::encode_request` to a server and waits for the
        response with id `id`. When the frame leaves, its timeout field is rewritten with the
        time that remains.

        An empty `server_id` completes with `no_target_server` (what a router returns when
        nothing fits).
        @param options the timeout (zero: the station's `request_timeout`) and cancellation.
        @param handler completed exactly once; see @ref detail::call_handler.
    */
    void send_request(std::string_view server_id, std::uint64_t id, frame f,
                      const call_options& options, detail::call_handler handler);

    /** The same on a snapshot from @ref view: a server it holds is reached without a lock
        (its mail box is made, once, under the lock). A server that has been removed or
        changed since the snapshot completes the call with `disconnected`, as if it had been
        removed just after the call.
    */
    void send_request(const view_ptr& view, std::string_view server_id, std::uint64_t id,
                      frame&& f, const call_options& options, detail::call_handler handler);

    /** Sends an encoded notify frame. The handler runs once the frame is handed to a
        connected mail box, or with the error that stopped it (`queue_full`,
        `connect_failed`, ...).
    */
    void send_notify(std::string_view server_id, frame f, detail::status_handler handler);

    /// The same on a snapshot from @ref view.
    void send_notify(const view_ptr& view, std::string_view server_id, frame&& f,
                     detail::status_handler handler);

    /** Closes every mail box; every queued and in-flight call completes with `cancelled`,
        and so does every later call. Idempotent.
    */
    void close();

    /// Calls currently waiting for a response or a connection, over all servers.
    std::size_t pending() const;

    /// Counts of the ways calls ended badly, since the station was made.
    struct stats {
        std::uint64_t queue_full = 0;     ///< refused by a bound (pending, in flight, bytes)
        std::uint64_t timeouts = 0;       ///< `timeout`
        std::uint64_t disconnected = 0;   ///< `disconnected` (link lost, server removed)
        std::uint64_t connect_failed = 0; ///< `connect_failed`, `version_mismatch`
        std::uint64_t cancelled = 0;      ///< by a cancellation or by close()
        std::uint64_t late_replies = 0;   ///< responses to calls that had already completed
    };
    stats counters() const;

private:
    /// The slot to send `f` to (made if need be, then held by `made`), or null and why.
    detail::server_slot* slot_for(const detail::station_view& view, std::string_view server_id,
                                  const frame& f, std::shared_ptr<detail::server_slot>& made,
                                  std::error_code& ec);
    std::shared_ptr<detail::server_slot> make_slot(std::string_view server_id, std::error_code& ec);
    template <class Handler>
    void fail(Handler&& handler, std::error_code ec);

    std::shared_ptr<detail::station_shared> shared_;
    std::atomic<std::uint64_t> next_id_{0};
    mutable std::mutex mu_;
    bool closed_ = false;
    std::shared_ptr<detail::station_view> view_; // replaced, never changed, but for its slots
    detail::string_map<mailbox_factory> transports_;
};

} // namespace mailroom
