// The conformance suite over WebSocket, plain and with TLS (wss).
#include "transports/conformance.hpp"
#include "transports/under_test.hpp"

using mailroom::test::make_ws_under_test;

INSTANTIATE_TEST_SUITE_P(conformance, transport_conformance,
                         testing::Values(make_ws_under_test(false), make_ws_under_test(true)),
                         mailroom::test::transport_name);
