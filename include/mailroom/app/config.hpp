#pragma once

#include <mailroom/auth.hpp>
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
    the environment's `auth` object is not a server type (see @ref load_auth);
    every other field (pomelo's `clientPort`, `frontend`, ...) lands in `server_info::options`
    as text. The App reads two of them for its own entry: `admin_port` (the admin HTTP
    endpoint's port, 0 for any free one; absent: no endpoint unless app_options says so) and
    `admin_host` (its address; default "127.0.0.1"), see docs/operations.md. Throws @ref config_error naming the file and field for a missing file, bad JSON,
    a missing environment, a missing or ill-typed field, a port outside 1..65535 or a
    duplicate id.
*/
std::vector<server_info> load_servers(const std::filesystem::path& file, std::string_view env);

/// The same, from JSON text; `origin` names it in errors.
std::vector<server_info> parse_servers(std::string_view json, std::string_view env,
                                       std::string_view origin = "servers.json");

/** Reads the cluster's authentication (@ref auth_options) for environment `env` from a
    `servers.json`: its `auth` object, which holds the secret in exactly one of three ways,

    @code
    { "production": { "auth": { "secret_env": "CHAT_CLUSTER_SECRET", "required": true },
                      "chat": [ ... ] } }
    @endcode

    - `secret_env`: the name of an environment variable that holds the secret (it must be set
      and non-empty);
    - `secret_file`: a file that holds it (one trailing newline is not part of it);
    - `secret`: the secret itself, in the file (for development; anyone who can read the file
      can join the cluster).

    `required` (default true) is `auth_options::required`. Without an `auth` object, the
    variable `MAILROOM_CLUSTER_SECRET` holds the secret if it is set; otherwise the result has
    none (no authentication). Throws @ref config_error naming the file and field (never the
    secret) for an unknown key, a missing variable or file, or a secret shorter than 16 bytes.
*/
auth_options load_auth(const std::filesystem::path& file, std::string_view env);

/// The same, from JSON text; `origin` names it in errors.
auth_options parse_auth(std::string_view json, std::string_view env,
                        std::string_view origin = "servers.json");

} // namespace mailroom
