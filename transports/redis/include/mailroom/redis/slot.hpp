#pragma once

#include <cstdint>
#include <string_view>

namespace mailroom::redis {

/// The number of hash slots of a Redis Cluster.
inline constexpr std::uint16_t cluster_slots = 16384;

/** The Redis Cluster hash slot of `key`: CRC16 (XMODEM) of its hash tag, modulo 16384. The
    hash tag is the text between the first `{` and the next `}` when that text is not empty,
    else the whole key (the Redis Cluster specification, "Hash tags").

    @par Example
    @code
    assert(mailroom::redis::key_slot("mailroom:{chat-1}:q") == mailroom::redis::key_slot("chat-1"));
    @endcode
*/
std::uint16_t key_slot(std::string_view key) noexcept;

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), the checksum @ref key_slot uses.
std::uint16_t crc16(std::string_view bytes) noexcept;

} // namespace mailroom::redis
