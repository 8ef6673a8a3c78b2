#pragma once

// The client side of mailroom: proxy -> router -> mail station -> mail box.
#include <mailroom/client/diagnostics.hpp>
#include <mailroom/client/failure_policy.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/mailbox.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/reply.hpp>
#include <mailroom/client/route_context.hpp>
#include <mailroom/client/route_param.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/error.hpp>
