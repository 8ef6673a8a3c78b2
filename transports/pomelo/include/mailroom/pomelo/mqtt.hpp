#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mailroom::pomelo::mqtt {

/** The MQTT 3.1.1 subset pomelo-rpc 1.0.7 speaks (docs/pomelo-interop.md): CONNECT once from
    the client, PUBLISH QoS 0 on topic `rpc` both ways, PINGREQ/PINGRESP. Sans-I/O: the
    transport's link feeds bytes in and writes what these functions produce.

    @par Thread safety
    Free functions on caller-owned data: safe.
*/

/// MQTT control packet types (the high nibble of the first byte).
enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
};

/// Largest remaining length a 4-byte varint can carry (MQTT 3.1.1, 2.2.3).
inline constexpr std::size_t max_remaining_length = 268'435'455;

/// Bytes of a PUBLISH header on topic `rpc` at most: type, 4 length bytes, topic.
inline constexpr std::size_t max_publish_header = 1 + 4 + 2 + 3;

/// One packet, viewed in the bytes it was parsed from.
struct packet {
    std::uint8_t first_byte = 0;
    /// The variable header and payload (`remaining length` bytes).
    std::span<const char> body;

    packet_type type() const noexcept { return static_cast<packet_type>(first_byte >> 4); }
};

/// What @ref parse found at the start of the bytes.
enum class parse_status {
    packet,    ///< a whole packet: `out` and `consumed` are set
    need_more, ///< a prefix of a packet; `consumed` is the packet's full size if known, else 0
    too_large, ///< the remaining length exceeds the limit: the link closes
    malformed, ///< a length varint longer than 4 bytes: the link closes
};

/** Parses one packet from the front of `in`. `max_body` bounds the remaining length.
    Never reads past `in`.
*/
parse_status parse(std::span<const char> in, std::size_t max_body, packet& out,
                   std::size_t& consumed) noexcept;

/** The payload of a PUBLISH (after its topic and, for QoS 1 or 2, its packet identifier);
    false if the variable header does not fit in the packet. The topic is not checked:
    pomelo-rpc ignores it.
*/
bool publish_payload(const packet& p, std::span<const char>& payload) noexcept;

/** Writes the fixed header and topic of a QoS 0 PUBLISH on topic `rpc` whose payload has
    `payload_size` bytes into `out` (at least @ref max_publish_header bytes); returns the
    bytes written, 0 if the payload exceeds @ref max_remaining_length.
*/
std::size_t publish_header(std::size_t payload_size, char* out) noexcept;

/// A CONNECT as the stock client sends it: protocol "MQTT" level 4, clean session,
/// keepalive 0 (the client pings on its own clock), no will, user or password.
std::string connect_packet(std::string_view client_id);

/// PINGREQ and PINGRESP, two bytes each.
inline constexpr char pingreq[2] = {static_cast<char>(0xc0), 0};
inline constexpr char pingresp[2] = {static_cast<char>(0xd0), 0};

/** Calls `element(std::span<const char>)` for each element of a top-level JSON array in
    `payload`, in order, without parsing the elements (strings, nesting and escapes are
    skipped over); whitespace around elements is trimmed. Returns false (after zero or more
    calls) if `payload` is not an array whose brackets and strings balance; the caller then
    treats the rest as one malformed message.
*/
template <class Element>
bool split_array(std::span<const char> payload, Element&& element);

/// Whether a PUBLISH payload is a batch (its first non-space byte is `[`).
bool is_batch(std::span<const char> payload) noexcept;

} // namespace mailroom::pomelo::mqtt

#include <mailroom/pomelo/impl/mqtt.hpp>
