// The conformance suite over the Redis-queue transport, against a redis-server of its own.
// Tests that assume a connection between client and server are skipped with their reason.
#include "transports/conformance.hpp"

#include "redis/redis_under_test.hpp"

INSTANTIATE_TEST_SUITE_P(conformance, transport_conformance,
                         testing::Values(mailroom::test::make_redis_under_test()),
                         mailroom::test::transport_name);
