#pragma once

#include <mailroom/client.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/ws.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "faults/child_process.hpp"
#include "support/eventually.hpp"

namespace mailroom::test {

/** The fault_server executable in a child process (killed and reaped with this object).
    It listens on 127.0.0.1:`port` (0: a free one) and serves echo-1 (see fault_server.cpp).
*/
class server_process
{
public:
    explicit server_process(std::uint16_t port = 0, const std::string& transport = "tcp",
                            const std::string& id = "echo-1");

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return proc_.pid(); }
    /// Waits until `n` more sleep calls started on the server (false if not within `limit`).
    bool wait_started(int n, std::chrono::milliseconds limit = std::chrono::seconds(10));
    void signal(int sig) { proc_.signal(sig); }
    /// SIGKILL: gone when this returns.
    void kill() { proc_.kill(); }

private:
    child_process proc_;
    std::uint16_t port_ = 0;
};

/// How one call ended.
struct outcome
{
    int completions = 0;
    std::error_code ec;
    /// From the call to its (first) completion.
    std::chrono::milliseconds elapsed{0};
    /// The call's own timeout.
    std::chrono::milliseconds timeout{0};
};

/** Counts completions per call: every call must complete exactly once. Thread-safe. */
class ledger
{
public:
    /// A new call id.
    int open(std::chrono::milliseconds timeout);
    void complete(int id, std::error_code ec);
    /// Waits until call `id` completed (false after `limit`).
    bool wait(int id, std::chrono::milliseconds limit = std::chrono::seconds(30));
    /// Waits until every call opened so far completed at least once (false after `limit`).
    bool wait_all(std::chrono::milliseconds limit = std::chrono::seconds(30));
    /// Waits until at least `n` calls succeeded in all (false after `limit`).
    bool wait_successes(int n, std::chrono::milliseconds limit = std::chrono::seconds(30));
    /// The outcomes of calls [first, first + n).
    std::vector<outcome> outcomes(int first, int n) const;
    int size() const;
    /// Calls that completed more than once.
    int doubled() const;

private:
    struct entry
    {
        outcome o;
        std::chrono::steady_clock::time_point start;
    };
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<entry> calls_;
    int done_ = 0;
    int succeeded_ = 0;
};

/** A mail station in this process on its own I/O thread, calling echo-1 at 127.0.0.1:`port`
    over `transport` (tcp, or ws with the keepalive of `stream`), with every call recorded in
    a @ref ledger. The tests that check what each call meets while the server is away, and
    that the next call reconnects, turn down marking off (`probe_delay = 0`: a connect cycle
    per call); ProcessFaults.AKilledServerIsMarkedDownAndAProbeBringsItBack checks it. */
/// A server a @ref load_client calls: its id (type "echo") and port on 127.0.0.1.
struct echo_server
{
    std::string id;
    std::uint16_t port;
};

class load_client
{
public:
    load_client(std::uint16_t port, tcp::stream_options stream, mail_station_options options,
                const std::string& transport = "tcp");
    /// Several servers of type "echo" (the calls above still go to echo-1; route others
    /// through rpc() and routes()).
    load_client(const std::vector<echo_server>& servers, tcp::stream_options stream,
                mail_station_options options, const std::string& transport = "tcp");
    ~load_client();

    /// Starts a call the server answers `ms` later (echoRemote.sleep) with `timeout`; returns
    /// its call id.
    int slow_call(int ms, std::chrono::milliseconds timeout);
    /// Starts echoRemote.add(1, 2) with `timeout`; returns its call id.
    int add(std::chrono::milliseconds timeout);
    /// One add(1, 2), waited for: its error (success, when the answer is 3).
    std::error_code call(std::chrono::milliseconds timeout = std::chrono::seconds(3));
    /// The proxy the calls go through (its failure policies, say).
    proxy& rpc() { return *rpc_; }
    /// The route functions of routed calls.
    mailroom::router& routes() { return router_; }

    ledger calls;

private:
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::optional<mail_station> station_;
    router router_;
    std::optional<proxy> rpc_;
    std::thread thread_;
};


/** Bytes waiting unread in established TCP sockets whose local port is `port` on 127.0.0.1
    (the server's end of its connections; from /proc/net/tcp): what a stopped server has not
    read yet. */
std::size_t unread_bytes_at(std::uint16_t port);

/// This process's open file descriptors.
std::size_t own_fd_count();

} // namespace mailroom::test
