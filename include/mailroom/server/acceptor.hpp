#pragma once

#include <mailroom/protocol/frame.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace mailroom {

/** What a server link enforces on a peer until it completed the protocol's handshake (the
    native hello): the core's session knows whether its protocol has one, the link knows the
    bytes and the time. See `connection_handler::limits_before_handshake`.
*/
struct handshake_limits {
    /// Time from the link's opening to the completed handshake; later, the link closes with
    /// `error::handshake_timeout`, whatever the peer sent meanwhile. 0: no deadline.
    std::chrono::milliseconds timeout{0};
    /// Largest message body accepted before the handshake (at most the link's own limit);
    /// a larger one closes the link with `error::frame_too_large`. 0: the link's own limit.
    std::size_t max_frame_size = 0;
};

/** One accepted link, as a transport exposes it to the core.

    Rules every transport follows (the conformance suite checks them): `send` never blocks,
    keeps order, and silently discards frames once the link is closing; no member function
    invokes a handler inline.

    @par Thread safety
    `send` and `close` may be called from any thread, concurrently.
*/
class connection {
public:
    virtual ~connection() = default;

    /// Queues one frame; frames queued while a write is in flight leave together.
    virtual void send(frame f) = 0;

    /** Closes the link once the frames already sent have been written (so a refusal reaches
        the peer); idempotent. The handler's `on_close` still runs once.
    */
    virtual void close() = 0;

    /** Closes the link because the peer broke the protocol: `reason` is what the core found
        (`protocol_error`, `version_mismatch`, `frame_too_large`, ...). A transport that can
        tell the peer why does (WebSocket: a close frame with 1002, 1008 or 1009 and the
        reason's message); the default is `close()`.
    */
    virtual void close(std::error_code reason)
    {
        (void)reason;
        close();
    }

    /// The peer's address, for logs (e.g. "127.0.0.1:50312").
    virtual std::string remote_address() const = 0;

    /// Bytes accepted by `send` and not yet written (0 if the transport does not know).
    virtual std::size_t queued_bytes() const noexcept { return 0; }

    /** The peer completed the protocol's handshake: the handler's `limits_before_handshake`
        no longer apply. Called by the core on the connection's executor (from `on_message`).
        Default: nothing (a transport that enforces no such limits).
    */
    virtual void handshake_done() {}
};

/** What a connection reports upward: implemented by the core for each connection.

    Called on the connection's executor, one call at a time.
*/
class connection_handler {
public:
    virtual ~connection_handler() = default;

    /// One received message body; the bytes are valid only during the call.
    virtual void on_message(std::span<const char> body) = 0;

    /// The link is gone (peer closed, error, or `close()`); called exactly once.
    virtual void on_close(std::error_code ec) = 0;

    /** Asked once by the link when it opens, before the first `on_message`: what to enforce
        until `connection::handshake_done` (a deadline, a smaller frame limit). A link that
        enforces them uses <mailroom/link/handshake_guard.hpp>. Default: nothing.
    */
    virtual handshake_limits limits_before_handshake() const { return {}; }
};

/// Given to an acceptor: returns the handler for each connection it accepts. When it returns
/// null (the server is stopping), the acceptor closes that connection.
using accept_handler =
    std::function<std::shared_ptr<connection_handler>(std::shared_ptr<connection>)>;

/** The server half of a transport: listens and hands each accepted link to the core.

    @par Thread safety
    `close` may be called from any thread.

    @par Example
    @code
    auto acc = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    server.listen(acc);
    std::cout << acc->local_address();
    @endcode
*/
class acceptor {
public:
    virtual ~acceptor() = default;

    /** Binds, listens and starts accepting; each connection goes to `on_accept` (on the
        acceptor's executor). Returns the error if it cannot listen.
    */
    virtual std::error_code start(accept_handler on_accept) = 0;

    /// Stops accepting. Connections already accepted stay up; the server closes them.
    virtual void close() = 0;

    /// Where it listens, for logs and tests (e.g. "127.0.0.1:41234").
    virtual std::string local_address() const = 0;
};

} // namespace mailroom
