#include "node_process.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mailroom::test {

std::string pomelo_interop_dir() { return MAILROOM_POMELO_INTEROP_DIR; }

std::string pomelo_interop_missing()
{
    namespace fs = std::filesystem;
    if (std::system("node --version > /dev/null 2>&1") != 0)
        return "node is not installed (scripts/lib/common.sh installs nodejs)";
    if (!fs::exists(fs::path(pomelo_interop_dir()) / "node_modules" / "pomelo-rpc"))
        return "tests/interop/pomelo/node_modules is missing: run `npm ci` in "
               "tests/interop/pomelo (scripts/test.sh does)";
    return {};
}

node_process::node_process(std::vector<std::string> args)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    args.insert(args.begin(), "node");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, pomelo_interop_dir().c_str());
    const int rc = posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        pid_ = -1;
        throw std::runtime_error("cannot start node");
    }
    reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
}

node_process::~node_process()
{
    kill();
    if (reader_.joinable())
        reader_.join();
}

void node_process::kill()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void node_process::read_loop(int fd)
{
    std::string partial;
    char buf[4096];
    for (;;) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        partial.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        std::lock_guard lock(mu_);
        while ((nl = partial.find('\n')) != std::string::npos) {
            lines_.push_back(partial.substr(0, nl));
            partial.erase(0, nl + 1);
        }
        cv_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    eof_ = true;
    cv_.notify_all();
}

std::optional<std::string> node_process::wait_line(std::string_view prefix,
                                                   std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mu_);
    std::optional<std::string> found;
    cv_.wait_for(lock, timeout, [&] {
        for (const auto& l : lines_)
            if (l.starts_with(prefix)) {
                found = l.substr(prefix.size());
                return true;
            }
        return eof_;
    });
    return found;
}

bool node_process::wait_count(std::string_view line, std::size_t n,
                              std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mu_);
    bool reached = false;
    cv_.wait_for(lock, timeout, [&] {
        std::size_t c = 0;
        for (const auto& l : lines_)
            c += l == line;
        reached = c >= n;
        return reached || eof_;
    });
    return reached;
}

std::size_t node_process::count(std::string_view line)
{
    std::lock_guard lock(mu_);
    std::size_t c = 0;
    for (const auto& l : lines_)
        c += l == line;
    return c;
}

} // namespace mailroom::test
