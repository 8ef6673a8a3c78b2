#include "control.hpp"

#include <boost/asio/read_until.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <istream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mailroom::load {

server_child::server_child(const std::vector<std::string>& args)
{
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]);
        ::close(in[1]);
        throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    }
    posix_spawn_file_actions_t fa;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    std::vector<std::string> argv_s{"mailroom-load", "--mode", "server"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
    if (rc != 0) {
        pid_ = -1;
        stop();
        throw std::runtime_error(fmt::format("cannot start the server: {}", std::strerror(rc)));
    }
    // A server that dies must not kill us with SIGPIPE on the next command.
    std::signal(SIGPIPE, SIG_IGN);
    for (;;) {
        auto line = read_line(10'000);
        if (!line) {
            stop();
            throw std::runtime_error("the server child did not report its port");
        }
        constexpr std::string_view tag = "listening on ";
        if (line->starts_with(tag)) {
            auto text = std::string_view(*line).substr(tag.size());
            std::from_chars(text.data(), text.data() + text.size(), port_);
            break;
        }
    }
}

server_child::~server_child() { stop(); }

bool server_child::write_line(std::string_view line)
{
    if (to_child_ < 0)
        return false;
    std::string s = std::string(line) + "\n";
    std::size_t off = 0;
    while (off < s.size()) {
        auto n = ::write(to_child_, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<std::string> server_child::read_line(int timeout_ms)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        if (from_child_ < 0)
            return std::nullopt;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0)
            return std::nullopt;
        pollfd p{from_child_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return std::nullopt;
        char buf[4096];
        const auto n = ::read(from_child_, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return std::nullopt;
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

std::optional<server_stats> server_child::stats()
{
    if (!write_line("stats"))
        return std::nullopt;
    for (;;) {
        auto line = read_line(10'000);
        if (!line)
            return std::nullopt;
        if (auto s = parse_stats_line(*line))
            return s;
    }
}

void server_child::release() { write_line("release"); }

int server_child::stop()
{
    if (to_child_ >= 0) {
        ::close(to_child_);
        to_child_ = -1;
    }
    int status = -1;
    if (pid_ > 0) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int st = 0;
        for (;;) {
            const pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                break;
            }
            if (r < 0 || std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &st, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
    }
    if (from_child_ >= 0) {
        ::close(from_child_);
        from_child_ = -1;
    }
    return status;
}

control_channel::control_channel(boost::asio::io_context& ioc) : in_(ioc) {}

void control_channel::start(commands c)
{
    struct stat st {};
    if (::fstat(STDIN_FILENO, &st) != 0 ||
        !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || ::isatty(STDIN_FILENO)))
        return;
    // A duplicate, so closing the channel leaves fd 0 alone.
    int fd = ::dup(STDIN_FILENO);
    if (fd < 0)
        return;
    in_.assign(fd);
    commands_ = std::move(c);
    read();
}

void control_channel::stop()
{
    boost::system::error_code ignored;
    // Asio made the (shared) file description non-blocking; hand it back as found.
    if (in_.is_open())
        in_.native_non_blocking(false, ignored);
    in_.close(ignored);
}

void control_channel::read()
{
    boost::asio::async_read_until(
        in_, buf_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
            if (ec == boost::asio::error::operation_aborted)
                return;
            if (ec) { // EOF, or stdin went away
                if (commands_.eof)
                    commands_.eof();
                return;
            }
            std::istream is(&buf_);
            std::string line;
            std::getline(is, line);
            if (line == "stats" && commands_.stats) {
                fmt::print("{}\n", format_stats_line(commands_.stats()));
                std::fflush(stdout);
            } else if (line == "release" && commands_.release) {
                commands_.release();
            }
            read();
        });
}

} // namespace mailroom::load
