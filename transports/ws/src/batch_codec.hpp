#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailroom::ws::detail {

/** The subprotocol (`Sec-WebSocket-Protocol`) a mail box offers and an acceptor agrees to:
    each binary message carries a batch of length-prefixed frames (docs/protocol.md, section
    1.1). A peer that does not negotiate it gets one frame body per message.
*/
inline constexpr std::string_view batch_subprotocol = "mailroom.batch";

/// The largest batch message a sender builds; one frame larger than this travels alone.
inline constexpr std::size_t batch_message_max = 64u << 10;

/** The largest message payload a receiver accepts: max(64 KiB, `max_frame_size` + 4) with
    batches, `max_frame_size` without.
*/
std::size_t message_limit(bool batch, std::size_t max_frame_size) noexcept;

/** Plans the messages that carry `wire`: frames in wire form (4-byte big-endian length, then
    the body), back to back, as `mailroom::frame::wire()` gives them. With `batch`, one
    message, or as many as needed to keep each within @ref batch_message_max (split between
    frames; a larger frame travels alone); without, one body (no prefix) per message. `out`
    is cleared first; its spans point into `wire`. `wire` must hold whole frames.
*/
void plan_messages(std::span<const char> wire, bool batch,
                   std::vector<std::span<const char>>& out);

/** Splits a received batch message into frame bodies (spans into `message`), after checking
    the whole message: a length above `max_frame_size` gives `mailroom::error::frame_too_large`,
    a message that ends inside a length prefix or a body `ws_error::truncated_frame`; then
    `bodies` is empty (a bad message is refused whole). An empty message has no bodies.
*/
std::error_code decode_batch(std::span<const char> message, std::size_t max_frame_size,
                             std::vector<std::span<const char>>& bodies);

} // namespace mailroom::ws::detail
