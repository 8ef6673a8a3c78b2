#pragma once

#include <mailroom/app/admin_endpoint.hpp>
#include <mailroom/app/config.hpp>
#include <mailroom/app/registry.hpp>
#include <mailroom/app/sys.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/client/stub.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/metrics/registry.hpp>
#include <mailroom/server/server.hpp>
#include <mailroom/transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mailroom {

/// Options of an App. `from_args` reads them from the command line and the environment.
struct app_options {
    /// pomelo's servers.json. Default: "config/servers.json".
    std::filesystem::path config = "config/servers.json";
    /// The environment to read from it. Default: "development" (pomelo's).
    std::string env = "development";
    /// This process's server id: its entry in the config. Required.
    std::string server_id{};
    /// I/O threads. Default: 1.
    unsigned threads = 1;
    /// How long a graceful stop waits for calls in flight (both directions). Default: 3 s
    /// (pomelo's).
    std::chrono::milliseconds grace{3'000};
    /// The mail station's options; `client_id` is set to `server_id`.
    mail_station_options station{};
    /// The server's options; `server_id` is set from the config.
    server_options server{};
    /// Where the App logs starts and stops.
    logger log{};
    /** A live membership source (docs/membership.md), e.g.
        `mailroom::redis::make_registry(...)`. The App registers its own entry there when it
        starts and leaves when it stops; the servers it finds there are added to those of
        servers.json (the registry's entry wins). Runs on the App's io_context: a copy kept
        by the caller must be dropped before the App is destroyed. Default: none.
    */
    std::shared_ptr<mailroom::registry> registry{};
    /** Count the calls of both ends, the mail boxes and the refusals (docs/operations.md,
        "Metrics"): a few relaxed atomic increments per call. Default: true.
    */
    bool metrics = true;
    /// Bounds of the metrics: series per table, recent errors kept.
    metrics::registry_options metrics_limits{};
    /** The admin HTTP endpoint: `/metrics` (Prometheus), `/` (the status page),
        `/status.json`. Off unless `admin.port` or servers.json's `admin_port` sets a port;
        bound to 127.0.0.1 unless told otherwise.
    */
    admin_options admin{};

    /** Reads `--config PATH`, `--env NAME`, `--server-id ID`, `--threads N`, `--grace MS`,
        `--admin-port N`
        (also `--name=value`), and pomelo's `env=NAME` and `serverId=ID`; the variables
        MAILROOM_CONFIG, MAILROOM_ENV and MAILROOM_SERVER_ID fill what the arguments do not
        say. Throws config_error on an unknown or malformed argument.
    */
    static app_options from_args(int argc, const char* const* argv);
};

/** The App without its typed RPC surface: configuration, I/O threads, the mail station,
    router and proxy of the client side, and the server with its acceptor.

    @par Thread safety
    `stop` may be called from any thread; configure (transports, remotes, routes) before
    `start`.
*/
class basic_app {
public:
    /// Loads the configuration; throws config_error if it is unusable or has no entry for
    /// `server_id`.
    explicit basic_app(app_options options);

    /// Stops (without grace) and joins the I/O threads.
    ~basic_app();

    basic_app(const basic_app&) = delete;
    basic_app& operator=(const basic_app&) = delete;

    /// Registers a transport under the name servers.json uses.
    void add_transport(std::string name, transport t);

    /** Serves the remote `Remote` (declared with MAILROOM_REMOTE) with `impl`. Its handlers
        run serialized on a strand of their own, so `impl` needs no locks; `impl` must outlive
        the App.
    */
    template <class Remote, class Impl>
    void serve(Impl& impl)
    {
        serve<Remote>(impl, asio::make_strand(ioc_));
    }

    /// Serves `Remote` with `impl`, every call posted to `ex`.
    template <class Remote, class Impl>
    void serve(Impl& impl, asio::any_io_executor ex, std::string_view ns = "user")
    {
        Remote::bind(server_->get_dispatcher(), impl, ex, ns);
        for (const auto& m : Remote::methods())
            describe(ns, Remote::name, m.name, m.signature);
    }

    /// Starts listening on this server's entry, connects the station to the cluster and runs
    /// the I/O threads. Throws std::system_error if the acceptor cannot listen.
    void start();

    /// Blocks until the App has stopped.
    void wait();

    /// start(), stop on SIGINT/SIGTERM, reload_config() on SIGHUP, wait(). Returns 0.
    int run();

    /** Reads servers.json again and applies it: servers that appeared are added, those that
        left are removed (their calls already sent drain), changed ones are replaced. This
        server's own entry is not changed (a new host or port needs a restart). Throws
        config_error if the file is unusable, and then changes nothing. Any thread.
    */
    void reload_config();

    /// The servers this App knows now: servers.json's, and the registry's.
    std::vector<server_info> cluster() const;

    /** Graceful stop: stop accepting, answer new calls with `shutting_down`, wait up to the
        grace period for calls in flight (served and made), then cancel what is left (callers
        of this server see `disconnected`, calls it made complete with `cancelled`) and end
        the I/O threads. Non-blocking and idempotent.
    */
    void stop();

    const server_info& self() const noexcept { return self_; }
    const app_options& options() const noexcept { return options_; }
    asio::any_io_executor get_executor() { return ioc_.get_executor(); }
    mail_station& station() noexcept { return *station_; }
    mailroom::router& routes() noexcept { return router_; }
    proxy& dynamic() noexcept { return *proxy_; }
    server& rpc_server() noexcept { return *server_; }
    dispatcher& get_dispatcher() noexcept { return server_->get_dispatcher(); }

    /// Filters around every call this App makes (after routing).
    mailroom::client_filters& client_filters() noexcept { return client_filters_; }

    /// Filters around every call this App serves (before dispatch).
    mailroom::server_filters& server_filters() noexcept { return server_->filters(); }

    /// What `sys.metrics.snapshot()` answers: this App's metrics now. Any thread.
    metrics::metrics_snapshot metrics_snapshot() const;

    /// The App's metrics; null if app_options::metrics is false.
    metrics::registry* metrics() noexcept { return metrics_.get(); }

    /// The port the admin endpoint listens on once started; 0 if it is off.
    std::uint16_t admin_port() const noexcept { return admin_ ? admin_->port() : 0; }

    /// Typed stubs for the sys remotes of server `server_id` (also `app.rpc.sys(id)`).
    sys_stubs sys(std::string server_id);

private:
    void describe(std::string_view ns, std::string_view service, std::string_view method,
                  std::string_view signature);
    void drain_step(std::chrono::steady_clock::time_point deadline);
    void finish();
    void apply_members(); // merges config_ and members_ into cluster_; needs members_mu_
    void wait_for_hangup();
    void start_admin(); // src/app/app_metrics.cpp

    app_options options_;
    server_info self_;
    mutable std::mutex members_mu_;
    std::vector<server_info> config_;  // servers.json's entries
    std::optional<std::vector<server_info>> members_; // the registry's, once read
    std::vector<server_info> cluster_; // what the station has
    asio::io_context ioc_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::vector<std::thread> threads_;
    std::optional<mail_station> station_;
    mailroom::router router_;
    mailroom::client_filters client_filters_;
    std::optional<proxy> proxy_;
    std::optional<server> server_;
    std::vector<std::pair<std::string, transport>> transports_;
    std::vector<method_description> methods_;
    std::chrono::steady_clock::time_point started_;
    std::optional<asio::steady_timer> drain_timer_;
    std::optional<asio::signal_set> signals_;
    std::optional<asio::signal_set> hangup_;
    std::atomic<bool> stopping_{false};
    bool started_flag_ = false;

    struct sys_impl;
    std::unique_ptr<sys_impl> sys_;
    std::shared_ptr<metrics::registry> metrics_;
    std::unique_ptr<admin_endpoint> admin_;
};

/** An App: a @ref basic_app plus the typed RPC surface `rpc` (a type derived from
    @ref rpc_base listing @ref server_type members).

    @par Example
    @code
    mailroom::app<cluster_rpc> app(mailroom::app_options::from_args(argc, argv));
    app.add_transport("tcp", mailroom::tcp::make_transport());
    app.serve<chat_remote>(chat);
    app.rpc.chat.chatRemote.add(session, uid, sid, channel, callback);
    return app.run();
    @endcode
*/
template <class Rpc = rpc_base>
class app : public basic_app {
public:
    explicit app(app_options options) : basic_app(std::move(options)), rpc(*this) {}

    /// `Rpc` plus `sys(server_id)`, the typed stubs of a server's built-in remotes.
    class rpc_type : public Rpc {
    public:
        explicit rpc_type(basic_app& a) : Rpc(a.dynamic()), app_(&a) {}

        /// `app.rpc.sys("chat-server-1").health.ping(token)`: see @ref sys_stubs.
        sys_stubs sys(std::string server_id) const { return app_->sys(std::move(server_id)); }

    private:
        basic_app* app_;
    };

    /// The typed stubs: `app.rpc.<serverType>.<remote>.<method>(route, args..., token)`, and
    /// `app.rpc.sys(server_id)` for the built-in remotes.
    rpc_type rpc;
};

} // namespace mailroom
