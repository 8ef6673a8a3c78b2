#pragma once

#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

namespace mailroom::protocol {

/** The msgpack codec of the native protocol (docs/protocol.md has the byte layout).

    Encoders append one message body to a @ref mailroom::frame. @ref decode parses one body
    into views that point into the body and into `zone`, valid while both live.
    `decode` never throws: malformed input is `error::protocol_error`.
*/
using packer = msgpack::packer<frame>;

/// Largest depth of nested arrays/maps accepted in a message (guards the decoder).
inline constexpr std::size_t max_nesting = 32;

/** Bytes of decoded values (msgpack objects) a message may cost per byte of its body, on top
    of @ref decoded_bytes_floor, when the caller of @ref decode sets no lower ratio
    (`message::max_decode_ratio`). One object per byte: every valid message fits, so a body
    that needs more is malformed (`protocol_error`). A server asks for less (its option
    `max_decode_ratio`, 8 by default), so that one request cannot cost 24 times its size: a
    request beyond that is `error::frame_too_large`, answered alone.
*/
inline constexpr std::size_t decoded_bytes_per_byte = sizeof(msgpack::object);

/// Decoded bytes any message may use whatever its size: 256 KiB (about 10,900 values).
inline constexpr std::size_t decoded_bytes_floor = 256u << 10;

namespace detail {

// The parts of a native request, notify and response around the arguments or result, which
// the caller packs in between (the templates below, and the native wire_protocol).
void begin_request(frame& out, std::uint64_t id, const method_path& path, bool with_timeout);
void end_request(frame& out, std::uint32_t timeout_ms) noexcept;
// With a trace: begin_request(..., true), the arguments, then end_traced_request; a notify
// begin_notify(..., true), the arguments, then end_traced_notify.
void end_traced_request(frame& out, std::uint32_t timeout_ms, const trace_context& trace) noexcept;
void begin_notify(frame& out, const method_path& path, bool with_meta = false);
void end_traced_notify(frame& out, const trace_context& trace) noexcept;
void begin_response(frame& out, std::uint64_t id);

} // namespace detail

/// Appends a request. `args` is packed as one msgpack array (a std::tuple, a vector, ...).
template <class Args>
void encode_request(frame& out, std::uint64_t id, const method_path& path, const Args& args,
                    std::uint32_t timeout_ms = 0)
{
    detail::begin_request(out, id, path, timeout_ms != 0);
    packer(out).pack(args);
    detail::end_request(out, timeout_ms);
}

/** Rewrites the timeout of a request encoded by @ref encode_request with a timeout, so the
    callee learns the time that remains rather than the time the caller started with.
    Returns false (and changes nothing) for a frame that does not end in that field.
*/
bool patch_request_timeout(frame& f, std::uint32_t timeout_ms) noexcept;

/** Appends a request carrying `trace` in its metadata (docs/protocol.md, section 3), with the
    timeout field always present (0: not given) so @ref patch_request_timeout can rewrite it.
*/
template <class Args>
void encode_traced_request(frame& out, std::uint64_t id, const method_path& path,
                           const Args& args, std::uint32_t timeout_ms, const trace_context& trace)
{
    detail::begin_request(out, id, path, true);
    packer(out).pack(args);
    detail::end_traced_request(out, timeout_ms, trace);
}

/// Appends a notify (a request that gets no response).
template <class Args>
void encode_notify(frame& out, const method_path& path, const Args& args)
{
    detail::begin_notify(out, path);
    packer(out).pack(args);
}

/// Appends a notify carrying `trace` in its metadata.
template <class Args>
void encode_traced_notify(frame& out, const method_path& path, const Args& args,
                          const trace_context& trace)
{
    detail::begin_notify(out, path, true);
    packer(out).pack(args);
    detail::end_traced_notify(out, trace);
}

/// Appends a successful response carrying `result`.
template <class T>
void encode_response(frame& out, std::uint64_t id, const T& result)
{
    detail::begin_response(out, id);
    packer(out).pack(result);
}

/// Appends a successful response with a nil result (a `void` method).
void encode_void_response(frame& out, std::uint64_t id);

/// Appends an error response; `code` must not be 0.
void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                           std::string_view message);

void encode_ping(frame& out, std::uint64_t nonce);
void encode_pong(frame& out, std::uint64_t nonce);
/// Appends a version-1 hello (no authentication).
void encode_hello(frame& out, std::string_view peer_id);
/// Appends a version-1 hello_ack; `code` empty means accepted.
void encode_hello_ack(frame& out, std::string_view peer_id, std::error_code code = {},
                      std::string_view message = {});

/** Appends the handshake message `kind` (hello, hello_ack, challenge or proof) with the
    fields of `h` it carries (docs/protocol.md, section 4): a hello its `version`, `peer_id`
    and, when not empty, `nonce`; a hello_ack its `version`, `peer_id`, `code`, `message` and,
    when not empty, `proof`; a challenge its `peer_id` (the server's id) and `nonce`; a proof
    its `proof`.
    Any other kind appends nothing.
*/
void encode_handshake(frame& out, message_kind kind, const hello_view& h);

/** Decodes one message body.

    Strings and the msgpack objects in `out` point into `body` and `zone`.
    @returns `error::protocol_error` on malformed or trailing bytes, unknown kinds or wrong
    element types; never throws.
*/
std::error_code decode(std::span<const char> body, msgpack::zone& zone, message& out) noexcept;

/** Reads only the kind of a message, without decoding it (the native protocol's
    `keepalive_of`). Returns 0 if the body does not start like a message.
*/
std::uint8_t peek_kind(std::span<const char> body) noexcept;

/** Decodes a ping or pong body into its nonce; false if `body` is anything else or malformed.
*/
bool decode_keepalive(std::span<const char> body, std::uint64_t& nonce) noexcept;

} // namespace mailroom::protocol
