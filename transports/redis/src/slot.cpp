#include <mailroom/redis/slot.hpp>

namespace mailroom::redis {

std::uint16_t crc16(std::string_view bytes) noexcept
{
    std::uint16_t crc = 0;
    for (unsigned char b : bytes) {
        crc ^= static_cast<std::uint16_t>(b << 8);
        for (int i = 0; i < 8; ++i)
            crc = static_cast<std::uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

std::uint16_t key_slot(std::string_view key) noexcept
{
    if (auto open = key.find('{'); open != std::string_view::npos) {
        auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close != open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return static_cast<std::uint16_t>(crc16(key) % cluster_slots);
}

} // namespace mailroom::redis
