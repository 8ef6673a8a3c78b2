#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/detail/unique_function.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/server_info.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <system_error>

namespace mailroom {

/** What a mail box reports upward: implemented by the mail station, called by a transport.

    Both functions are called on the mail box's executor, one at a time, never from inside a
    call the station made into the mail box.
*/
class mailbox_handler {
public:
    virtual ~mailbox_handler() = default;

    /** One received message body (for stream transports: without the length prefix).

        The bytes are valid only during the call. A link may consume the keepalive messages
        of its protocol (`wire_protocol::keepalive_of`); everything else is passed up.
    */
    virtual void on_message(std::span<const char> body) = 0;

    /** The link went down after a successful connect: called exactly once, not after
        `close()` was called by the station, and never when `async_connect` failed.
    */
    virtual void on_close(std::error_code ec) = 0;

    /** The peer stopped answering the link's keepalive (`stalled`: a ping went unanswered
        for the transport's stall time) or answers again. While stalled, the station puts no
        new call on the link: they fail at once with `not_sent`, and routers see the server
        as down. Calls already sent wait for their reply, their timeout or the keepalive
        timeout. A transport without keepalive never calls it. Only between a successful
        connect and `on_close`.
    */
    virtual void on_stall(bool /*stalled*/) {}
};

/** The client half of a transport: one link to one remote server.

    A transport implements this (and @ref acceptor on the server side). The mail station
    creates one mail box per remote server through the transport's @ref mailbox_factory,
    connects it, performs the handshake of the transport's protocol over it (if that
    protocol has one) and then sends frames the protocol encoded. The station owns request
    ids, timeouts and the queue of calls made while connecting; the mail box only moves bytes.

    Rules every transport follows (the conformance suite checks them):
    - No member function invokes a handler inline: completions are posted to the mail box's
      executor.
    - `send` never blocks and never fails visibly: frames sent to a mail box that is closing
      are discarded, because the station fails their calls when it learns of the close.
    - Frames leave in the order `send` was called.

    @par Thread safety
    `send` and `close` may be called from any thread, concurrently.

    @par Example
    @code
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    @endcode
*/
class mailbox {
public:
    /// Completion of @ref async_connect: empty error code on success.
    using connect_handler = detail::unique_function<void(std::error_code)>;

    virtual ~mailbox() = default;

    /** Opens the link. The handler runs once, on the mail box's executor. On failure the
        mail box is finished and the station discards it.
    */
    virtual void async_connect(connect_handler handler) = 0;

    /// Queues one frame for sending; frames queued while a write is in flight leave together.
    virtual void send(frame f) = 0;

    /// Closes the link; idempotent. `mailbox_handler::on_close` is not called afterwards.
    virtual void close() = 0;

    /// Bytes accepted by `send` and not yet written (0 if the transport does not know).
    virtual std::size_t queued_bytes() const noexcept { return 0; }
};

/// What a @ref mailbox_factory gets to build a mail box for one server.
struct mailbox_context {
    /// The executor the mail box runs its I/O and handlers on.
    asio::any_io_executor executor;
    /// The server to connect to.
    const server_info& server;
    /// Where received messages and closes go. Keep it for the mail box's lifetime.
    std::shared_ptr<mailbox_handler> handler;
    /// Largest message body to accept, in bytes.
    std::size_t max_frame_size;
    /// The protocol the transport was registered with: what a keepalive ping and pong are on
    /// this link (`encode_ping`, `keepalive_of`). Never null.
    std::shared_ptr<const wire_protocol> protocol = native_protocol();
};

/// Creates a mail box for one server; registered under a transport name.
using mailbox_factory = std::function<std::shared_ptr<mailbox>(const mailbox_context&)>;

} // namespace mailroom
