#pragma once

// The Redis-queue transport (docs/redis-transport.md).

#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/cluster.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/crawlab_message.hpp>
#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/options.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/reply.hpp>
#include <mailroom/redis/slot.hpp>
#include <mailroom/redis/transport.hpp>
#include <mailroom/redis/url.hpp>
