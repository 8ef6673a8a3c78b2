#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/streambuf.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "proc_stats.hpp"

namespace mailroom::load {

/** Where a client learns the server's CPU and memory: the server object itself (inproc),
    its control pipe (separate), or nowhere (client mode).
*/
class stats_source {
public:
    virtual ~stats_source() = default;
    /// The server's figures now; nothing if unknown.
    virtual std::optional<server_stats> stats() = 0;
    /// Asks the server to answer its held calls.
    virtual void release() = 0;
};

/** A `--mode server` child process of this program, with a control pipe.

    Started with posix_spawn; its stdin and stdout are pipes. It prints "listening on PORT"
    once listening; the line "stats" on its stdin makes it print a stats line, "release"
    answers its held calls, and end of file stops it. Blocking and single-threaded: call
    from one thread at a time.
*/
class server_child final : public stats_source {
public:
    /// Starts `/proc/self/exe --mode server ARGS...` and waits (10 s at most) for its port.
    /// Throws std::runtime_error if it does not start.
    explicit server_child(const std::vector<std::string>& args);
    /// Stops it (see @ref stop).
    ~server_child() override;
    server_child(const server_child&) = delete;
    server_child& operator=(const server_child&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    std::optional<server_stats> stats() override;
    void release() override;

    /// Closes its stdin and waits up to 5 s for it to exit, then kills it. Returns its exit
    /// status (-1 if killed or already stopped).
    int stop();

private:
    bool write_line(std::string_view line);
    std::optional<std::string> read_line(int timeout_ms);

    pid_t pid_ = -1;
    int to_child_ = -1;
    int from_child_ = -1;
    std::string buffered_;
    std::uint16_t port_ = 0;
};

/** The server's end of the control pipe: reads command lines from stdin.

    Only pipes, sockets and terminals are watched: a background job's stdin is /dev/null,
    and that must not stop the server at once.
*/
class control_channel {
public:
    struct commands {
        std::function<server_stats()> stats;
        std::function<void()> release;
        std::function<void()> eof;
    };

    explicit control_channel(boost::asio::io_context& ioc);

    /// Starts reading if stdin is a pipe, socket or terminal.
    void start(commands c);
    void stop();

private:
    void read();

    boost::asio::posix::stream_descriptor in_;
    boost::asio::streambuf buf_;
    commands commands_;
};

} // namespace mailroom::load
