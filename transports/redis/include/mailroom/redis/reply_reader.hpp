#pragma once

#include <mailroom/redis/reply.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

namespace mailroom::redis {

/** Turns the bytes Redis sends into @ref reply values: sans-I/O, one per connection.

    Parsing is hiredis's RESP reader; the values are built directly as `reply` trees (no
    intermediate `redisReply`), and an array header larger than `max_elements` is refused
    before anything is allocated for it: a broken or hostile peer on the Redis port cannot
    make one header cost gigabytes. A bulk string is kept until it is complete, so a reply
    costs the bytes the peer actually sent.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class reply_reader {
public:
    /// The most elements one array reply may declare (Redis's own replies here are small).
    static constexpr std::size_t default_max_elements = 1u << 20;

    explicit reply_reader(std::size_t max_elements = default_max_elements);
    ~reply_reader();
    reply_reader(const reply_reader&) = delete;
    reply_reader& operator=(const reply_reader&) = delete;

    /** Appends `bytes` to what is buffered. Returns `redis::error::protocol_error` once the
        stream is broken (the reader stays broken).
    */
    std::error_code feed(std::span<const char> bytes);

    /** The next complete reply, or nothing while it is incomplete. On a malformed stream,
        sets `ec` to `redis::error::protocol_error` and returns nothing, now and after.
    */
    std::optional<reply> next(std::error_code& ec);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace mailroom::redis
