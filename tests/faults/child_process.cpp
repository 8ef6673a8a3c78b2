#include "faults/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace mailroom::test {

child_process::child_process(std::vector<std::string> argv)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
        const int e = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        throw std::system_error(e, std::generic_category(), "fork");
    }
    if (pid_ == 0) {
        // The child: only async-signal-safe calls until exec. The pipe's write end becomes
        // stdout (dup2 clears O_CLOEXEC on the copy); every other descriptor of the test
        // process is close-on-exec or closed by the loop below.
        ::dup2(fds[1], STDOUT_FILENO);
        for (int fd = 3; fd < 1024; ++fd)
            ::close(fd);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
}

child_process::~child_process()
{
    kill();
    if (out_ >= 0)
        ::close(out_);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds limit)
{
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0 || out_ < 0)
            return std::nullopt;
        pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return std::nullopt;
        char buf[512];
        const auto n = ::read(out_, buf, sizeof buf);
        if (n <= 0)
            return std::nullopt;
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

void child_process::signal(int sig)
{
    if (pid_ > 0)
        ::kill(pid_, sig);
}

void child_process::kill()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

std::size_t rss_kib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    return 0;
}

std::size_t fd_count(pid_t pid)
{
    std::size_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec))
        ++n;
    return n;
}

} // namespace mailroom::test
