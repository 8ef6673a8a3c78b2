#pragma once

#include <mailroom/protocol/values.hpp>
#include <mailroom/trace_context.hpp>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace mailroom::protocol {

/** The newest protocol version this build speaks (docs/protocol.md, section 6). Version 2
    adds authentication to the handshake (a nonce in the hello, then challenge and proof);
    a client sends it only when it authenticates, and version 1 otherwise, so that a server
    that predates authentication still accepts a client that does not use it.
*/
inline constexpr std::uint32_t version = 2;

/// The oldest protocol version this build accepts in a hello: 1 (no authentication).
inline constexpr std::uint32_t min_version = 1;

/// The first element of every message array: what the message is.
enum class message_kind : std::uint8_t {
    request = 1,
    notify = 2,
    response = 3,
    ping = 4,
    pong = 5,
    hello = 6,
    hello_ack = 7,
    /// Version 2: the server's answer to an authenticating hello (its id and nonce).
    challenge = 8,
    /// Version 2: the client's proof, answering a challenge.
    proof = 9,
};

/// Where a call goes: namespace ("user" or "sys"), server type, service and method.
struct method_path {
    std::string_view ns = "user";
    std::string_view server_type{};
    std::string_view service{};
    std::string_view method{};
};

/// A decoded request or notify (`id == 0`). Views point into the received bytes.
struct request_view {
    std::uint64_t id = 0;
    method_path path;
    /// The arguments, always an array (msgpack or JSON, as the protocol writes values).
    value_view args;
    /// The caller's timeout for this call, in milliseconds, as set when it was made; 0 = not
    /// given. The callee's deadline is its receive time plus this (an upper bound).
    std::uint32_t timeout_ms = 0;
    /// The call's trace (its trace id and the span id the caller gave it); empty when the
    /// caller sent none (an older peer, or a protocol without room for it).
    trace_context trace{};
};

/// A decoded response. `code == 0` means success and `result` holds the value.
struct response_view {
    std::uint64_t id = 0;
    /// A value of `mailroom::error`, or 0.
    int code = 0;
    std::string_view message;
    value_view result;
};

/// A decoded hello (client to server), hello_ack, challenge (server to client) or proof.
struct hello_view {
    std::uint32_t version = 0;
    /// The sender's server id (may be empty for a client that is not a server); a
    /// challenge's is the server's.
    std::string_view peer_id;
    /// hello_ack only: 0 if accepted, else a `mailroom::error` value.
    int code = 0;
    std::string_view message;
    /// hello (version 2, authenticating): the client's nonce; challenge: the server's. Raw
    /// bytes (msgpack bin); empty when absent.
    std::string_view nonce;
    /// proof: the client's proof; hello_ack ending an authenticated handshake: the server's.
    /// Raw bytes; empty when absent.
    std::string_view proof;
    /// hello_ack only: the server's incarnation (its registry epoch); 0 when it has none.
    std::uint64_t epoch = 0;
};

/// Any decoded message: `kind` tells which member is filled.
struct message {
    /** In, for the decoder: bytes the decoded values of a request or notify may take per
        byte of its body, on top of a 256 KiB floor (a protocol may ignore it). 0: the
        protocol's own bound (the native one: one msgpack object, 24 bytes, per byte, which
        every valid message fits: more is `protocol_error`). Below it, a message that needs
        more is `frame_too_large`, its kind and id decoded, so the request alone is answered.
    */
    std::size_t max_decode_ratio = 0;
    message_kind kind = message_kind::request;
    request_view request;   ///< request, notify
    response_view response; ///< response
    hello_view hello;       ///< hello, hello_ack, challenge, proof
    std::uint64_t nonce = 0; ///< ping, pong
    /// Storage for a protocol that decodes JSON (`document.emplace(...)`): its values point
    /// into it. Empty otherwise, so a msgpack message pays nothing for it.
    std::optional<nlohmann::json> document;
};

} // namespace mailroom::protocol
