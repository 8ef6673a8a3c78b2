#pragma once

#include <cstdint>
#include <string_view>

namespace mailroom {

/// CRC-32 (IEEE 802.3, as zlib and node's `crc` package): what pomelo routes uids with.
std::uint32_t crc32(std::string_view data) noexcept;

} // namespace mailroom
