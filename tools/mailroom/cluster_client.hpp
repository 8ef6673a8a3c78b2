// The cluster a subcommand talks to: its servers (from a servers.json or a registry) and a
// mail station, router and proxy running on one I/O thread of their own.

#pragma once

#include "command_line.hpp"

#include <mailroom/app/registry.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/server_info.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mailroom::cli {

/// A target that cannot be read (exit code `bad_target`).
class target_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Where the servers come from, read from the command line (see docs/operations.md).
struct target_options {
    /// A servers.json path, or a registry URL (`redis://...`, `redis+cluster://...`).
    std::string target;
    /// servers.json's environment: --env, else MAILROOM_ENV, else "development".
    std::string env = "development";
    /// The registry's cluster name (registry_options::cluster): --cluster, else "mailroom".
    std::string cluster = "mailroom";
    /// Per call, and the connect timeout.
    std::chrono::milliseconds timeout{2000};
    /// Log the station's connects and errors to stderr.
    bool verbose = false;

    /** From the common options (--env, --cluster, --timeout, --verbose) and the first
        positional argument, which is removed; without one, MAILROOM_CONFIG. Throws
        usage_error.
    */
    static target_options from(command_line& cl);
};

/** The cluster's servers and a proxy to call them. Calls complete on the client's I/O
    thread; the blocking helpers wait for them from the caller's.
*/
class cluster_client {
public:
    /// Reads the servers (throws target_error) and starts the I/O thread.
    explicit cluster_client(const target_options& options);
    /// Closes the station and joins the I/O thread.
    ~cluster_client();
    cluster_client(const cluster_client&) = delete;
    cluster_client& operator=(const cluster_client&) = delete;

    const std::vector<server_info>& servers() const noexcept { return servers_; }
    /// The server with this id, or null.
    const server_info* find(std::string_view id) const;
    proxy& rpc() noexcept { return *proxy_; }
    mailroom::router& routes() noexcept { return router_; }
    boost::asio::io_context& context() noexcept { return ioc_; }
    const target_options& options() const noexcept { return options_; }

    /** Calls `path` on server `id` with `args` and waits: (error, result). `diag`, if given,
        receives the remote's message.
    */
    template <class R, class Args>
    std::pair<std::error_code, R> call_to(const std::string& id, const protocol::method_path& path,
                                          const Args& args, diagnostics* diag = nullptr)
    {
        std::promise<std::pair<std::error_code, R>> done;
        auto f = done.get_future();
        proxy_->async_call_to<R>(id, path, args, {.timeout = options_.timeout, .diag = diag},
                                 [&done](std::error_code ec, R r) {
                                     done.set_value({ec, std::move(r)});
                                 });
        return f.get();
    }

private:
    std::vector<server_info> read_registry();

    target_options options_;
    std::vector<server_info> servers_;
    boost::asio::io_context ioc_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::optional<mail_station> station_;
    mailroom::router router_;
    std::optional<proxy> proxy_;
    std::thread thread_;
};

} // namespace mailroom::cli
