#pragma once

#include <mailroom/server_info.hpp>

#include <string>
#include <string_view>

namespace mailroom::redis {

/** The Redis keys of the transport (docs/redis-transport.md). Each carries a hash tag, so a
    node's request, processing and lease keys live in one Redis Cluster slot.
*/
namespace keys {

/// The list callers push requests for `node` onto: `mailroom:{node}:q`.
std::string request_list(std::string_view node);

/// The list a server incarnation moves requests into while it runs them:
/// `mailroom:{node}:p:instance`.
std::string processing_list(std::string_view node, std::string_view instance);

/// The prefix of every processing list of `node` (SCAN pattern without the `*`).
std::string processing_prefix(std::string_view node);

/// The lease of a server incarnation (`SET ... PX`): `mailroom:{node}:lease:instance`.
std::string lease(std::string_view node, std::string_view instance);

/// The list a caller process reads its replies from: `mailroom:{instance}:r`.
std::string reply_list(std::string_view caller_instance);

} // namespace keys

/** The node id a server is addressed by in Redis: its `redis_node` option, or else its
    servers.json `id`.
*/
std::string node_of(const server_info& server);

/// A fresh random instance id (16 hex digits).
std::string make_instance_id();

} // namespace mailroom::redis
