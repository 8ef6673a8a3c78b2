#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::redis {

/** Where a Redis server is: `redis://[:password@]host[:port][/db]`.

    @par Example
    @code
    auto u = mailroom::redis::parse_url("redis://:secret@127.0.0.1:6380/2");
    @endcode
*/
struct url {
    /// Host name or address; default 127.0.0.1.
    std::string host = "127.0.0.1";
    /// TCP port; default 6379.
    std::uint16_t port = 6379;
    /// Sent with AUTH when not empty.
    std::string password{};
    /// Selected with SELECT when not 0.
    int db = 0;

    friend bool operator==(const url&, const url&) = default;
};

/// Parses a `redis://` URL; nothing for malformed input (never throws).
std::optional<url> parse_url(std::string_view text) noexcept;

/// The URL back as text, without the password (for logs).
std::string to_string(const url& u);

} // namespace mailroom::redis
