#include "faults/harness.hpp"

#include <boost/asio/use_future.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unistd.h>

namespace mailroom::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

server_process::server_process(std::uint16_t port, const std::string& transport,
                               const std::string& id)
    : proc_({MAILROOM_FAULT_SERVER, std::to_string(port), transport, id})
{
    auto line = proc_.read_line(10s);
    if (!line || line->rfind("port ", 0) != 0)
        throw std::runtime_error("fault_server did not start (port " + std::to_string(port) +
                                 "): " + line.value_or("no output"));
    port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
}

bool server_process::wait_started(int n, std::chrono::milliseconds limit)
{
    const auto until = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < n; ++i) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        auto line = proc_.read_line(std::max(left, 1ms));
        if (!line || *line != "started")
            return false;
    }
    return true;
}

int ledger::open(std::chrono::milliseconds timeout)
{
    std::lock_guard lock(mu_);
    calls_.push_back({.o = {.timeout = timeout}, .start = std::chrono::steady_clock::now()});
    return static_cast<int>(calls_.size() - 1);
}

void ledger::complete(int id, std::error_code ec)
{
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    auto& e = calls_.at(static_cast<std::size_t>(id));
    if (e.o.completions++ == 0) {
        e.o.ec = ec;
        e.o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.start);
        ++done_;
        succeeded_ += !ec;
        cv_.notify_all();
    }
}

bool ledger::wait(int id, std::chrono::milliseconds limit)
{
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this, id] {
        return calls_.at(static_cast<std::size_t>(id)).o.completions > 0;
    });
}

bool ledger::wait_successes(int n, std::chrono::milliseconds limit)
{
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this, n] { return succeeded_ >= n; });
}

bool ledger::wait_all(std::chrono::milliseconds limit)
{
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return done_ == static_cast<int>(calls_.size()); });
}

std::vector<outcome> ledger::outcomes(int first, int n) const
{
    std::lock_guard lock(mu_);
    std::vector<outcome> out;
    for (int i = first; i < first + n; ++i)
        out.push_back(calls_.at(static_cast<std::size_t>(i)).o);
    return out;
}

int ledger::size() const
{
    std::lock_guard lock(mu_);
    return static_cast<int>(calls_.size());
}

int ledger::doubled() const
{
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : calls_)
        n += e.o.completions > 1;
    return n;
}

load_client::load_client(std::uint16_t port, tcp::stream_options stream,
                         mail_station_options options, const std::string& transport)
    : load_client(std::vector<echo_server>{{"echo-1", port}}, stream, std::move(options),
                  transport)
{
}

load_client::load_client(const std::vector<echo_server>& servers, tcp::stream_options stream,
                         mail_station_options options, const std::string& transport)
    : work_(ioc_.get_executor())
{
    options.log.min_level = log_level::off;
    station_.emplace(ioc_.get_executor(), std::move(options));
    if (transport == "ws")
        station_->add_transport(
            "ws",
            ws::make_mailbox_factory({.stream = {.keepalive_interval = stream.keepalive_interval,
                                                 .keepalive_timeout = stream.keepalive_timeout,
                                                 .keepalive_stall = stream.keepalive_stall}}));
    else
        station_->add_transport("tcp", tcp::make_mailbox_factory(stream));
    for (const auto& s : servers)
        station_->add_server({.id = s.id,
                              .server_type = "echo",
                              .host = "127.0.0.1",
                              .port = s.port,
                              .transport = transport});
    rpc_.emplace(*station_, router_);
    thread_ = std::thread([this] { ioc_.run(); });
}

load_client::~load_client()
{
    station_->close();
    work_.reset();
    thread_.join();
}

int load_client::slow_call(int ms, std::chrono::milliseconds timeout)
{
    const int id = calls.open(timeout);
    rpc_->async_call_to<int>("echo-1",
                             {.server_type = "echo", .service = "echoRemote", .method = "sleep"},
                             std::tuple{ms}, call_options{.timeout = timeout},
                             [this, id](std::error_code ec, int) { calls.complete(id, ec); });
    return id;
}

int load_client::add(std::chrono::milliseconds timeout)
{
    const int id = calls.open(timeout);
    rpc_->async_call_to<int>(
        "echo-1", {.server_type = "echo", .service = "echoRemote", .method = "add"},
        std::tuple{1, 2}, call_options{.timeout = timeout},
        [this, id](std::error_code ec, int sum) {
            calls.complete(id, !ec && sum != 3 ? make_error_code(error::bad_result) : ec);
        });
    return id;
}

std::error_code load_client::call(std::chrono::milliseconds timeout)
{
    const int id = add(timeout);
    if (!calls.wait(id, timeout + 10s))
        throw std::runtime_error("a call did not complete");
    return calls.outcomes(id, 1)[0].ec;
}

std::size_t unread_bytes_at(std::uint16_t port)
{
    // "sl local_address rem_address st tx_queue:rx_queue ...", addresses as hex "IP:PORT".
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line); // the header
    std::size_t total = 0;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string sl, local, remote, state, queues;
        fields >> sl >> local >> remote >> state >> queues;
        const auto colon = local.find(':');
        const auto q = queues.find(':');
        if (colon == std::string::npos || q == std::string::npos || state != "01")
            continue;
        if (std::stoul(local.substr(colon + 1), nullptr, 16) == port)
            total += std::stoul(queues.substr(q + 1), nullptr, 16);
    }
    return total;
}

std::size_t own_fd_count()
{
    return fd_count(::getpid());
}

} // namespace mailroom::test
