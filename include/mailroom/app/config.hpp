#pragma once

#include <mailroom/server_info.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

/// A configuration that cannot be used; `what()` names the file and the field.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/** Reads the servers of environment `env` from a pomelo `servers.json`:

    @code
    { "development": { "chat": [ {"id": "chat-server-1", "host": "127.0.0.1", "port": 3150,
                                  "transport": "tcp", "weight": 1} ] } }
    @endcode

    `id`, `host` and `port` are required; `transport` defaults to "tcp" and `weight` to 1;
    every other field (pomelo's `clientPort`, `frontend`, ...) lands in `server_info::options`
    as text. Throws @ref config_error naming the file and field for a missing file, bad JSON,
    a missing environment, a missing or ill-typed field, a port outside 1..65535 or a
    duplicate id.
*/
std::vector<server_info> load_servers(const std::filesystem::path& file, std::string_view env);

/// The same, from JSON text; `origin` names it in errors.
std::vector<server_info> parse_servers(std::string_view json, std::string_view env,
                                       std::string_view origin = "servers.json");

} // namespace mailroom
