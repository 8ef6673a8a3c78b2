#include "chat_route.hpp"

#include "session.hpp"

#include <mailroom/crc32.hpp>

#include <string>
#include <string_view>

namespace chat {

mailroom::route_function chat_route()
{
    return [](const mailroom::route_param& param, const mailroom::protocol::method_path& call,
              const mailroom::server_table& servers) -> std::string {
        std::string_view channel;
        if (const auto* s = param.get<session>())
            channel = s->channel;
        else if (param.has_key())
            channel = param.key();
        else
            return {};
        // of_type is ordered by id, so every connector picks the same server.
        auto list = servers.of_type(call.server_type);
        if (list.empty())
            return {};
        return list[mailroom::crc32(channel) % list.size()]->id;
    };
}

} // namespace chat
