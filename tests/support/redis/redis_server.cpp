#include "redis/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace mailroom::test {

using namespace std::chrono_literals;

std::uint16_t free_port()
{
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

namespace {

// Its own directory for the server's files (log, AOF), so that servers never share one.
std::filesystem::path make_dir()
{
    auto pattern = (std::filesystem::temp_directory_path() / "mailroom-redis-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    return pattern;
}

} // namespace

redis_server::redis_server(std::vector<std::string> extra, std::uint16_t (*pick_port)())
    : extra_(std::move(extra))
{
    dir_ = make_dir();
    // Another process may take the free port before redis-server binds it: try again.
    for (int attempt = 0; attempt < 10; ++attempt) {
        port_ = pick_port();
        if (launch())
            return;
    }
    throw std::runtime_error("redis-server did not start");
}

redis_server::~redis_server()
{
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string redis_server::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

bool redis_server::launch()
{
    std::vector<std::string> args{"redis-server", "--port", std::to_string(port_),
                                  "--bind", "127.0.0.1", "--save", "", "--dir", dir_.string(),
                                  "--logfile", (dir_ / "redis.log").string(), "--daemonize", "no"};
    bool aof_set = false;
    for (auto& e : extra_)
        aof_set = aof_set || e == "--appendonly";
    if (!aof_set)
        args.insert(args.end(), {"--appendonly", "no"});
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp("redis-server", argv.data());
        ::_exit(127);
    }
    if (answers(10s))
        return true;
    stop();
    return false;
}

bool redis_server::answers(std::chrono::milliseconds within) const
{
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
            return false; // it exited (the port was taken)
        timeval tv{0, 200'000};
        if (redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv)) {
            const bool ok = !c->err;
            if (ok) {
                auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
                const bool pong = r && r->type == REDIS_REPLY_STATUS;
                if (r)
                    freeReplyObject(r);
                redisFree(c);
                if (pong)
                    return true;
            } else {
                redisFree(c);
            }
        }
        // Polling a process that is starting: there is no event to wait for.
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

void redis_server::stop()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void redis_server::restart()
{
    stop();
    for (int attempt = 0; attempt < 50; ++attempt)
        if (launch())
            return;
    throw std::runtime_error("redis-server did not restart on its port");
}

std::string redis_server::command(const std::vector<std::string>& args) const
{
    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        throw std::runtime_error("redis unreachable");
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string out;
    if (!r) {
        redisFree(c);
        throw std::runtime_error("redis command failed");
    }
    auto text = [](const redisReply* e) -> std::string {
        switch (e->type) {
        case REDIS_REPLY_INTEGER: return std::to_string(e->integer);
        case REDIS_REPLY_NIL: return "(nil)";
        default: return std::string(e->str ? e->str : "", e->len);
        }
    };
    if (r->type == REDIS_REPLY_ARRAY) {
        for (std::size_t i = 0; i < r->elements; ++i)
            out += (i ? "\n" : "") + text(r->element[i]);
    } else {
        out = text(r);
    }
    freeReplyObject(r);
    redisFree(c);
    return out;
}

} // namespace mailroom::test
