// The conformance suite over the Unix-socket transport of examples/custom_transport: what a
// transport written outside mailroom does to prove itself (docs/writing-a-transport.md).
#include "transports/conformance.hpp"
#include "transports/under_test.hpp"

INSTANTIATE_TEST_SUITE_P(conformance, transport_conformance,
                         testing::Values(mailroom::test::make_unix_under_test()),
                         mailroom::test::transport_name);
