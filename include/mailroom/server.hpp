#pragma once

// The server side of mailroom: acceptor -> dispatcher -> remote.
#include <mailroom/error.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/dispatcher.hpp>
#include <mailroom/server/responder.hpp>
#include <mailroom/server/server.hpp>
