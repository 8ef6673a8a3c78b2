#pragma once

/** @file
    Everything of mailroom's core that an application uses, in one include:

    @code
    #include <mailroom/mailroom.hpp> // App, remotes, stubs, router, filters, errors
    #include <mailroom/tcp.hpp>      // the TCP transport (link mailroom::tcp)
    #include <mailroom/ws.hpp>       // the WebSocket transport (link mailroom::ws)
    @endcode

    Transports have headers of their own because they are libraries of their own: the core
    never includes one. The Asio completion tokens the guide uses (`use_awaitable`,
    `use_future`, `co_spawn`, `detached`) come with it, since every asynchronous operation
    takes one; `mailroom::asio` names `boost::asio`.

    Narrower headers exist for faster builds: `mailroom/remote.hpp` (declaring contracts),
    `mailroom/client.hpp`, `mailroom/server.hpp`, `mailroom/app/app.hpp`.
*/

#include <mailroom/app/app.hpp>
#include <mailroom/app/config.hpp>
#include <mailroom/app/sys.hpp>
#include <mailroom/client.hpp>
#include <mailroom/client/call_options.hpp>
#include <mailroom/client/stub.hpp>
#include <mailroom/crc32.hpp>
#include <mailroom/error.hpp>
#include <mailroom/filters/filter.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/filters/rpc_log.hpp>
#include <mailroom/filters/too_busy.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/no_reply.hpp>
#include <mailroom/remote.hpp>
#include <mailroom/server.hpp>
#include <mailroom/server/reply_callback.hpp>
#include <mailroom/server_info.hpp>
#include <mailroom/trace_context.hpp>
#include <mailroom/transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
