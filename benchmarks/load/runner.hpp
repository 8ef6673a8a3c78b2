#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "control.hpp"
#include "echo_server.hpp"
#include "options.hpp"
#include "report.hpp"

namespace mailroom::load {

/// Runs `ioc` on `n` threads, the caller's included, until it runs out of work.
void run_on_threads(boost::asio::io_context& ioc, unsigned n);

/** The server side of one run as the client sees it: an echo server in this process
    (inproc), a child process (separate), or nothing (client mode, --port elsewhere).
*/
class server_side {
public:
    server_side(boost::asio::io_context& ioc, const load_options& o);

    std::uint16_t port() const noexcept { return port_; }
    /// The server's figures; in inproc mode this process's.
    std::optional<server_stats> stats();
    void release();
    /// Stops an in-process server (the child stops with @ref finish).
    void stop();
    /// Stops the child; returns false if it did not exit cleanly.
    bool finish();
    bool separate() const noexcept { return child_ != nullptr; }
    bool known() const noexcept { return child_ || local_; }

private:
    std::unique_ptr<echo_server> local_;
    std::unique_ptr<server_child> child_;
    std::uint16_t port_ = 0;
};

/// The arguments a `--mode separate` client gives its server child.
std::vector<std::string> server_child_args(const load_options& o);

/// One load run as `o` says (inproc, separate or client). Throws std::runtime_error on
/// startup failures.
measurement run_once(const load_options& o);

/// The memory scenarios; they print their result and return the exit status.
int run_idle_connections(const load_options& o);

/// The overload scenario (overload.cpp): too_busy sheds load past capacity; see --help.
int run_overload(const load_options& o);
int run_hold_calls(const load_options& o);

} // namespace mailroom::load
