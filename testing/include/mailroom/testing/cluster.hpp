#pragma once

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/client/stub.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/server/dispatcher.hpp>
#include <mailroom/server/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::testing {

/// Options of a test @ref cluster.
struct cluster_options {
    /// I/O threads shared by every server and the caller. Default: 2.
    unsigned threads = 2;
    /// The caller's mail station (request timeout, queue bounds, ...); `client_id` defaults
    /// to "test-caller" and the log to nothing.
    mail_station_options station{};
    /// The servers' logger. Default: nothing.
    logger server_log{.min_level = log_level::off};
};

/** An in-process cluster for testing your remotes and their callers: servers of several
    types and one caller (mail station, router, proxy) in this process, over loopback TCP on
    free ports, with the I/O on threads of its own. A test stops, hangs, slows down, drains
    or restarts a named server and asserts what the callers see.

    | control | the server | callers see |
    |---|---|---|
    | `stop(id)` | closes its listener and connections | `disconnected` (calls in flight, or made as the link closes) or `connect_failed` |
    | `restart(id)` | starts again at the same address as a new incarnation (a new epoch, as a registry gives), remotes bound again | calls succeed again at once (the station connects to the new incarnation) |
    | `hang(id)` | holds every call it receives, answers none | their `timeout` |
    | `slow_down(id, d)` | runs each call `d` late | answers `d` later (or `timeout`) |
    | `resume(id)` | ends a hang or a slow-down; held calls run | their answers, if still waiting |
    | `drain(id)` | graceful stop: finishes calls in flight, accepts no connection | `shutting_down` for new calls on open links; `connect_failed` on new ones |

    Route functions (`routes()`), client filters (`client_filters()`) and the typed stubs
    (`rpc`) are the same objects an App has, so what a test checks is what production runs.

    @par Thread safety
    Configure servers before calling them. The controls may be called from any thread,
    including from completion handlers.

    @par Example
    @code
    mailroom::testing::cluster<world_rpc> c;
    area_service one, two;
    c.add_server("area-1", "area").serve<area_remote>(one);
    c.add_server("area-2", "area").serve<area_remote>(two);
    c.routes().set("area", route_by_area);
    c.hang("area-1");
    auto [ec, at] = c.rpc.area.areaRemote.with({.timeout = 50ms})
                        .enter(session, "alice", asio::use_future).get(); // ec == timeout
    @endcode
*/
class basic_cluster {
public:
    class server_handle;

    explicit basic_cluster(cluster_options options = {});
    /// Closes the caller, stops every server and joins the I/O threads.
    ~basic_cluster();

    basic_cluster(const basic_cluster&) = delete;
    basic_cluster& operator=(const basic_cluster&) = delete;

    /** Adds server `id` of type `type`, listening on a free loopback port, and tells the
        caller's station about it. Bind its remotes with the handle's `serve`.
    */
    server_handle add_server(const std::string& id, const std::string& type);

    /// Stops server `id` at once (see the table above).
    void stop(const std::string& id);
    /// Starts server `id` again at the same address, with the same remotes.
    void restart(const std::string& id);
    /// Server `id` holds every call it receives until @ref resume (or stop).
    void hang(const std::string& id);
    /// Server `id` runs every call `delay` late until @ref resume.
    void slow_down(const std::string& id, std::chrono::milliseconds delay);
    /// Ends a hang or slow-down of `id`; the calls it held go on.
    void resume(const std::string& id);
    /// Graceful stop of `id`: calls in flight finish, new calls on open links get
    /// `shutting_down`, new links are refused.
    void drain(const std::string& id);

    /// Server `id` itself (its dispatcher, filters, counters); valid until it restarts.
    server& server_of(const std::string& id);

    /// The caller's side.
    mail_station& station() noexcept { return *station_; }
    mailroom::router& routes() noexcept { return router_; }
    proxy& dynamic() noexcept { return *proxy_; }
    mailroom::client_filters& client_filters() noexcept { return client_filters_; }
    asio::any_io_executor get_executor() { return ioc_.get_executor(); }

private:
    struct node;
    node& find(const std::string& id);
    void start(node& n);
    void add_binder(const std::string& id,
                    std::function<void(dispatcher&, const asio::any_io_executor&)> bind);

    cluster_options options_;
    asio::io_context ioc_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::optional<mail_station> station_;
    mailroom::router router_;
    mailroom::client_filters client_filters_;
    std::optional<proxy> proxy_;
    std::vector<std::unique_ptr<node>> nodes_;
    std::vector<std::thread> threads_;

public:
    /// What @ref add_server returns: binds remotes on that server.
    class server_handle {
    public:
        /** Serves `Remote` (declared with MAILROOM_REMOTE) with `impl` on this server, its
            handlers serialized on a strand as `app.serve` does; again after each restart.
            `impl` must outlive the cluster.
        */
        template <class Remote, class Impl>
        server_handle& serve(Impl& impl)
        {
            cluster_->add_binder(id_, [&impl](dispatcher& d, const asio::any_io_executor& ex) {
                Remote::bind(d, impl, ex);
            });
            return *this;
        }

    private:
        friend class basic_cluster;
        server_handle(basic_cluster* c, std::string id) : cluster_(c), id_(std::move(id)) {}
        basic_cluster* cluster_;
        std::string id_;
    };
};

/** A @ref basic_cluster with the typed stubs `rpc` of your RPC surface (a type derived from
    @ref rpc_base), as `app.rpc` has them.
*/
template <class Rpc = rpc_base>
class cluster : public basic_cluster {
public:
    explicit cluster(cluster_options options = {})
        : basic_cluster(std::move(options)), rpc(dynamic())
    {
    }

    /// `rpc.<serverType>.<remote>.<method>(route, args..., token)`.
    Rpc rpc;
};

} // namespace mailroom::testing
