#pragma once

// A real redis-server (Debian's package) for the Redis transport's tests and for
// mailroom-load --transport redis: started on a free loopback port with its files in a
// temporary directory, stopped with the object. Library mailroom_redis_server (hiredis and
// Asio only, no GoogleTest).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mailroom::test {

/// A TCP port nothing listened on a moment ago (bind to port 0, read it, close).
std::uint16_t free_port();

class redis_server {
public:
    /// Starts redis-server (`extra` are more command-line options, e.g. {"--appendonly", "yes"})
    /// on a port `pick_port` chooses (a Redis Cluster node needs port + 10000 free too).
    explicit redis_server(std::vector<std::string> extra = {},
                          std::uint16_t (*pick_port)() = &free_port);
    ~redis_server();

    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    /// Stops it (SIGTERM, then waits for the process). Idempotent.
    void stop();
    /// Starts it again on the same port and directory, and waits until it answers.
    void restart();

    std::uint16_t port() const { return port_; }
    /// The process id of the running redis-server; -1 while stopped.
    int pid() const { return pid_; }
    /// redis://127.0.0.1:<port>
    std::string url() const;

    /** Runs one command on a short-lived blocking connection and returns the reply as text:
        integers and strings as they are, nil as "(nil)", arrays as their elements joined by
        '\n', errors as "ERR ...". Throws when Redis cannot be reached.
    */
    std::string command(const std::vector<std::string>& args) const;

private:
    bool launch();
    bool answers(std::chrono::milliseconds within) const;

    std::vector<std::string> extra_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    int pid_ = -1;
};

} // namespace mailroom::test
