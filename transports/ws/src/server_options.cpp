#include "server_options.hpp"

namespace mailroom::ws::detail {
namespace {

void read_option(const server_info& s, std::string_view key, std::string& out)
{
    if (auto it = s.options.find(key); it != s.options.end())
        out = it->second;
}

} // namespace

client_options client_options_for(const server_info& server, client_options defaults)
{
    read_option(server, "ws_path", defaults.path);
    read_option(server, "ws_token", defaults.token);
    defaults.tls = tcp::tls_for(server, defaults.tls);
    return defaults;
}

acceptor_options acceptor_options_for(const server_info& self, acceptor_options defaults)
{
    defaults.host = self.host;
    defaults.port = self.port;
    read_option(self, "ws_path", defaults.path);
    read_option(self, "ws_token", defaults.token);
    defaults.tls = tcp::tls_for(self, defaults.tls);
    return defaults;
}

} // namespace mailroom::ws::detail
