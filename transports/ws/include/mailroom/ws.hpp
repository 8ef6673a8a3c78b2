#pragma once

// The WebSocket transport: mail box factory and acceptor.
#include <mailroom/ws/acceptor.hpp>
#include <mailroom/ws/error.hpp>
#include <mailroom/ws/mailbox.hpp>
#include <mailroom/ws/options.hpp>
#include <mailroom/ws/transport.hpp>
