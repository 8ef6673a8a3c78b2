#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mailroom::test {

/// tests/interop/pomelo, where the pinned Node project lives.
std::string pomelo_interop_dir();

/** Why the Node interop tests cannot run here (no `node`, or `npm ci` not run), or empty. */
std::string pomelo_interop_missing();

/** `node <script> <args...>` run in tests/interop/pomelo, its stdout read line by line on a
    thread of its own (so that a chatty child never blocks on a full pipe). The destructor
    kills the process (SIGKILL), reaps it and joins the reader: no child outlives its test.
*/
class node_process {
public:
    explicit node_process(std::vector<std::string> args);
    ~node_process();
    node_process(const node_process&) = delete;
    node_process& operator=(const node_process&) = delete;

    /// The rest of the first line starting with `prefix`, once printed; nullopt if the process
    /// ended or `timeout` passed first.
    std::optional<std::string> wait_line(std::string_view prefix,
                                         std::chrono::milliseconds timeout);

    /// Waits until `n` lines equal to `line` were printed; false on exit or timeout.
    bool wait_count(std::string_view line, std::size_t n, std::chrono::milliseconds timeout);

    /// Lines equal to `line` printed so far.
    std::size_t count(std::string_view line);

    /// SIGKILL now, and reap.
    void kill();

private:
    void read_loop(int fd);

    int pid_ = -1;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
    bool eof_ = false;
};

} // namespace mailroom::test
