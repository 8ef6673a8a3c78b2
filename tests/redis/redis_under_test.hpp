#pragma once

// The Redis transport as the conformance suite sees it.

#include "transports/conformance.hpp"

#include <mailroom/redis/options.hpp>

namespace mailroom::test {

/// "redis": a redis-server of its own (started at the first use), each fresh address a new
/// node (`redis_node` option) in it.
transport_param make_redis_under_test();

} // namespace mailroom::test
