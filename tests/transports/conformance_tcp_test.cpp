// The conformance suite over TCP, plain and with TLS.
#include "transports/conformance.hpp"
#include "transports/under_test.hpp"

using mailroom::test::make_tcp_under_test;

INSTANTIATE_TEST_SUITE_P(conformance, transport_conformance,
                         testing::Values(make_tcp_under_test(false), make_tcp_under_test(true)),
                         mailroom::test::transport_name);
