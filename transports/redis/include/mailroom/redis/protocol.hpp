#pragma once

#include <mailroom/protocol/wire_protocol.hpp>

#include <memory>

namespace mailroom::redis {

/** The protocol the Redis transport speaks: the native msgpack messages (docs/protocol.md)
    without hello and without pings. A queue has no link to greet or keep alive; Redis
    itself is the link.
*/
const std::shared_ptr<const wire_protocol>& protocol() noexcept;

} // namespace mailroom::redis
