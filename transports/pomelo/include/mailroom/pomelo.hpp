#pragma once

// The pomelo transport: pomelo-rpc 1.0.7's wire (docs/pomelo-interop.md).

#include <mailroom/pomelo/acceptor.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/mailbox.hpp>
#include <mailroom/pomelo/mqtt.hpp>
#include <mailroom/pomelo/options.hpp>
#include <mailroom/pomelo/results.hpp>
#include <mailroom/pomelo/transport.hpp>
