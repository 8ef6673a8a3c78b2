#pragma once

#include "transports/conformance.hpp"

#include <memory>
#include <string>

namespace mailroom::test {

/// A raw link speaking length-prefixed frames over TCP, with TLS (not verifying) if `tls`.
std::unique_ptr<raw_link> make_tcp_raw_link(asio::io_context& ioc, const server_info& at, bool tls);

/// A raw link speaking length-prefixed frames over the Unix socket at `path`.
std::unique_ptr<raw_link> make_unix_raw_link(asio::io_context& ioc, const std::string& path);

/// A raw WebSocket client, upgraded with the server's `ws_path` and `ws_token`, with TLS (not
/// verifying) if `tls`.
std::unique_ptr<raw_link> make_ws_raw_link(asio::io_context& ioc, const server_info& at, bool tls);

} // namespace mailroom::test
