#pragma once

// The descriptions of mailroom's own transports for the conformance suite.

#include "transports/conformance.hpp"

#include <mailroom/tcp/options.hpp>

namespace mailroom::test {

/// TCP ("tcp"), or TCP with TLS ("tcp_tls") through the servers' tls_cert/tls_key/tls_ca
/// options and a certificate generated for the test run. Mail boxes use `client_stream`.
transport_param make_tcp_under_test(bool tls, tcp::stream_options client_stream = {});

/// WebSocket ("ws"), or WebSocket over TLS ("ws_tls"); servers use a ws_path and a ws_token.
transport_param make_ws_under_test(bool tls);

/// The Unix-socket transport of examples/custom_transport ("unix").
transport_param make_unix_under_test();

} // namespace mailroom::test
