#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mailroom::redis {

/** A queued request: what a caller pushes onto a node's request list, around the body its
    protocol encoded. Encoded as the msgpack array `[1, reply_list, deadline_ms, body]`.
*/
struct request_envelope {
    /// Where the server pushes the reply.
    std::string_view reply_list;
    /// Unix time in milliseconds after which nobody waits for the reply; 0: none.
    std::uint64_t deadline_ms = 0;
    /// The message body.
    std::span<const char> body;
};

/// A reply: the msgpack array `[node_id, body]`, so one reader routes it to its mail box.
struct reply_envelope {
    /// The id of the node that answered.
    std::string_view node;
    /// The message body.
    std::span<const char> body;
};

std::string encode(const request_envelope& e);
std::string encode(const reply_envelope& e);

/// Decodes an entry; views point into `entry`. Nothing for malformed input (never throws).
std::optional<request_envelope> decode_request(std::string_view entry) noexcept;
std::optional<reply_envelope> decode_reply(std::string_view entry) noexcept;

/// The current Unix time in milliseconds (the clock deadlines are written in).
std::uint64_t unix_now_ms() noexcept;

} // namespace mailroom::redis
