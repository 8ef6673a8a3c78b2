#pragma once

// The TCP transport: mail box factory and acceptor.
#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/mailbox.hpp>
#include <mailroom/tcp/options.hpp>
#include <mailroom/tcp/transport.hpp>
