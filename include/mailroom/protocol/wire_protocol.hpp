#pragma once

#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/protocol/values.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

namespace mailroom {

/** A protocol: how the messages of mailroom's call model (request, notify, response,
    handshake, keepalive; protocol/message.hpp) become bytes and back.

    A transport pair names one (`transport::protocol`); the core asks it to encode and decode
    and never looks at bytes itself, and a transport's link asks it what a keepalive ping is.
    The native msgpack protocol (@ref native_protocol, docs/protocol.md) is the default.
    Another wire plugs in here without forging native frames: pomelo-rpc's JSON bodies, a
    Redis queue's messages.

    - **Values.** Arguments and results are encoded from the caller's typed values, once, by
      the protocol of the server the call is routed to: `encode_request` gets them as a
      @ref value_source and writes them in its own format. Decoded values are
      @ref value_view "value_views" (msgpack or JSON), converted to the declared C++ types
      by the core.
    - **Handshake.** A protocol with a handshake (`has_handshake()`) makes the client send a
      hello and wait for the hello_ack before any call; one without (a queue, pomelo-rpc) is
      ready when the transport has connected.
    - **Keepalive.** A protocol may have ping/pong messages (`encode_ping` returns true);
      links answer pings and note pongs with `keepalive_of`, without a full decode. One whose
      transport keeps the link alive itself (WebSocket pings, a queue) returns false.

    Implementations are stateless (per-link state belongs to the transport): one object is
    shared by every link and thread.

    @par Thread safety
    Every member function may be called concurrently.
*/
class wire_protocol {
public:
    virtual ~wire_protocol() = default;

    /// A short name for logs ("mailroom", "pomelo").
    virtual std::string_view name() const noexcept = 0;

    /// The format values are written in.
    virtual value_format format() const noexcept = 0;

    // --- calls: the client encodes, the server decodes -------------------------------------

    /** Appends request `id` to `out`. `timeout_ms` (0: none) is how long the caller waits.
        Returns the error of a value that has no form in this protocol's format
        (`error::not_encodable`); `out` is then unspecified.
    */
    virtual std::error_code encode_request(frame& out, std::uint64_t id,
                                           const protocol::method_path& path,
                                           const value_source& args,
                                           std::uint32_t timeout_ms) const = 0;

    /** Appends request `id` carrying the call's `trace` as well (docs/operations.md,
        "Tracing"); what the core calls. The default, for a protocol whose wire has no room
        for a trace, drops it (the receiver starts a new trace) and calls `encode_request`.
    */
    virtual std::error_code encode_traced_request(frame& out, std::uint64_t id,
                                                  const protocol::method_path& path,
                                                  const value_source& args,
                                                  std::uint32_t timeout_ms,
                                                  const trace_context& trace) const
    {
        (void)trace;
        return encode_request(out, id, path, args, timeout_ms);
    }

    /** Rewrites the timeout of a request made by `encode_request` with the time that remains,
        as the request leaves. False if the protocol carries no timeout (nothing changed).
    */
    virtual bool patch_request_timeout(frame& request, std::uint32_t timeout_ms) const noexcept
    {
        (void)request;
        (void)timeout_ms;
        return false;
    }

    /// Appends a notify (a request that gets no response).
    virtual std::error_code encode_notify(frame& out, const protocol::method_path& path,
                                          const value_source& args) const = 0;

    /// Appends a notify carrying `trace`; the default drops it and calls `encode_notify`.
    virtual std::error_code encode_traced_notify(frame& out, const protocol::method_path& path,
                                                 const value_source& args,
                                                 const trace_context& trace) const
    {
        (void)trace;
        return encode_notify(out, path, args);
    }

    // --- responses: the server encodes, the client decodes ---------------------------------

    /// Appends a successful response; `result` null: a `void` method (nil).
    virtual std::error_code encode_response(frame& out, std::uint64_t id,
                                            const value_source* result) const = 0;

    /** Appends an error response; `code` is a `mailroom::error`, never 0. If it throws (a
        message with no form in the protocol's format), the responder tries again with a
        plain ASCII message.
    */
    virtual void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                                       std::string_view message) const = 0;

    // --- both ends ---------------------------------------------------------------------------

    /** Decodes one received message body into `out`. Strings and values point into `body`,
        `zone` and `out` itself: valid while the three live.
        @returns `error::protocol_error` (or another named error) for malformed input; never
        throws.
    */
    virtual std::error_code decode(std::span<const char> body, msgpack::zone& zone,
                                   protocol::message& out) const noexcept = 0;

    /** Whether a client sends a hello and waits for the hello_ack before its calls: a
        protocol that says true implements `encode_hello`, `encode_hello_ack` and `version`.
    */
    virtual bool has_handshake() const noexcept { return false; }

    /// Appends a hello naming the client (a protocol with a handshake implements it).
    virtual void encode_hello(frame& out, std::string_view client_id) const
    {
        (void)out;
        (void)client_id;
    }

    /// Appends a hello_ack; `code` empty: accepted.
    virtual void encode_hello_ack(frame& out, std::string_view server_id, std::error_code code,
                                  std::string_view message) const
    {
        (void)out;
        (void)server_id;
        (void)code;
        (void)message;
    }

    /// The newest protocol version a hello may carry (0: no handshake).
    virtual std::uint32_t version() const noexcept { return 0; }

    /// The oldest protocol version a hello may carry. Default: `version()` (an exact match).
    virtual std::uint32_t min_version() const noexcept { return version(); }

    /** Whether the handshake can authenticate both ends with a shared secret (a nonce in the
        hello, then a challenge and a proof; docs/protocol.md section 6, docs/security.md). A
        protocol that says true implements `encode_handshake`, and its `decode` reads
        challenges, proofs and the hello's nonce. The native protocol does.
    */
    virtual bool has_auth() const noexcept { return false; }

    /** Appends the handshake message `kind` (hello, hello_ack, challenge, proof) of any
        version the protocol speaks, with the fields of `h` that kind carries (a protocol
        with `has_auth()` implements it).
    */
    virtual void encode_handshake(frame& out, protocol::message_kind kind,
                                  const protocol::hello_view& h) const
    {
        (void)out;
        (void)kind;
        (void)h;
    }

    /** Whether the protocol has keepalive pings: a protocol that says true implements
        `encode_ping`, `encode_pong` and `keepalive_of` (links ask this once, when they are
        made). A link whose protocol has none sends none,
        and does not close an idle link for silence on the end that would have pinged (the
        peer has no reason to speak); an end that never pings (a server) still closes a peer
        silent for its timeout.
    */
    virtual bool has_pings() const noexcept { return false; }

    /** Appends a keepalive ping; false if the protocol has none (the transport keeps its
        link alive its own way, or not at all).
    */
    virtual bool encode_ping(frame& out, std::uint64_t nonce) const
    {
        (void)out;
        (void)nonce;
        return false;
    }

    /// Appends the pong answering ping `nonce`.
    virtual void encode_pong(frame& out, std::uint64_t nonce) const
    {
        (void)out;
        (void)nonce;
    }

    /// What a received body is, as far as keepalive goes.
    enum class keepalive { none, ping, pong };

    /** Recognises a ping or pong without decoding the message (links call it for every
        body they receive); `nonce` is set for a ping or pong. Anything else, a malformed
        ping included, is `none`: the core decodes it and treats it as what it is.
    */
    virtual keepalive keepalive_of(std::span<const char> body,
                                   std::uint64_t& nonce) const noexcept
    {
        (void)body;
        (void)nonce;
        return keepalive::none;
    }
};

/// The native protocol: msgpack bodies, a hello, pings (docs/protocol.md). Never null.
const std::shared_ptr<const wire_protocol>& native_protocol() noexcept;

} // namespace mailroom
