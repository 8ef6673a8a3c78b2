#pragma once

// Shared inputs of the microbenchmarks: the echo call of mailroom-load, with small (64 B)
// and large (4 KiB) arguments.

#include <mailroom/protocol/message.hpp>

#include <cstdint>
#include <string>

namespace mailroom::bench {

inline protocol::method_path echo_path()
{
    return {.server_type = "echo", .service = "echoRemote", .method = "echo"};
}

inline std::string payload(std::int64_t size)
{
    std::string s(static_cast<std::size_t>(size), '\0');
    for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

} // namespace mailroom::bench
