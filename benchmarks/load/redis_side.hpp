#pragma once

#include <memory>
#include <optional>
#include <string>

#include "options.hpp"

namespace mailroom::test {
class redis_server;
}

namespace mailroom::load {

/** The Redis of one run over a redis transport: the one `--redis-url` names, or a
    redis-server of its own on a free loopback port (tests/support/redis), started here and
    stopped with this object, so that every run starts from empty lists.

    Its CPU counts as part of a call's cost: @ref cpu_us reads redis-server's
    /proc/PID/stat (the PID is known when we started it, else taken from `INFO server`).
*/
class redis_side {
public:
    /// Throws std::runtime_error if redis-server does not start.
    explicit redis_side(const load_options& o);
    ~redis_side();
    redis_side(const redis_side&) = delete;
    redis_side& operator=(const redis_side&) = delete;

    /// redis://HOST:PORT of the Redis to use.
    const std::string& url() const noexcept { return url_; }

    /// CPU time (user + system) redis-server has used so far, in microseconds; nothing when
    /// its process cannot be read (a Redis on another machine or in a container).
    std::optional<double> cpu_us() const;

private:
    std::unique_ptr<test::redis_server> own_;
    std::string url_;
    int pid_ = -1;
};

/// CPU time (user + system) of process `pid` from /proc/PID/stat, in microseconds.
std::optional<double> process_cpu_us(int pid);

} // namespace mailroom::load
