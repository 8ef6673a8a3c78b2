#pragma once

#include <mailroom/server_info.hpp>
#include <mailroom/ws/options.hpp>

namespace mailroom::ws::detail {

/// `defaults`, overridden by the server's servers.json options `ws_path`, `ws_token` and
/// `tls*` (the server a mail box connects to).
client_options client_options_for(const server_info& server, client_options defaults);

/// `defaults` with the host, port, `ws_path`, `ws_token` and `tls*` of the server's own entry.
acceptor_options acceptor_options_for(const server_info& self, acceptor_options defaults);

} // namespace mailroom::ws::detail
