#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mailroom::test {

/** A child process with its stdout on a pipe, killed and reaped when the guard goes: every
    test path, a failed assertion or an exception included, leaves no child behind.

    @par Thread safety
    Not thread-safe: one thread owns a guard.
*/
class child_process
{
public:
    /// Starts `argv[0]` with `argv` (throws std::system_error if fork or exec fails).
    explicit child_process(std::vector<std::string> argv);
    /// SIGKILL (if still running), then waitpid.
    ~child_process();

    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }

    /// The next line the child writes on stdout (without the newline), or nothing when the
    /// child closed stdout or `limit` passed first.
    std::optional<std::string> read_line(std::chrono::milliseconds limit);

    /// Sends `sig` (SIGSTOP, SIGCONT, ...).
    void signal(int sig);
    /// SIGKILL and waitpid: the process is gone when this returns.
    void kill();

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffered_;
};

/// The resident set size of `pid` (VmRSS in /proc/<pid>/status), in KiB.
std::size_t rss_kib(pid_t pid);
/// The number of open file descriptors of `pid` (entries of /proc/<pid>/fd).
std::size_t fd_count(pid_t pid);

} // namespace mailroom::test
