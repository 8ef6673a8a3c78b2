#include <mailroom/testing/cluster.hpp>

#include <mailroom/tcp/acceptor.hpp>
#include <mailroom/tcp/mailbox.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace mailroom::testing {
namespace {

/// The faults of one server, as a server filter: holds or delays calls before dispatch.
class fault_filter : public server_filter {
public:
    explicit fault_filter(asio::any_io_executor ex) : ex_(std::move(ex)) {}

    void before(filter_call&, filter_next next) override
    {
        std::unique_lock lock(mu_);
        if (hung_) {
            held_.push_back(std::move(next));
            return;
        }
        auto delay = delay_;
        lock.unlock();
        if (delay.count() == 0)
            return next();
        auto timer = std::make_shared<asio::steady_timer>(ex_, delay);
        timer->async_wait([timer, next = std::move(next)](const boost::system::error_code&) mutable {
            next();
        });
    }

    void hang()
    {
        std::lock_guard lock(mu_);
        hung_ = true;
    }

    void slow_down(std::chrono::milliseconds d)
    {
        std::lock_guard lock(mu_);
        delay_ = d;
    }

    /// Ends the faults; `run_held` lets the held calls go on, else they are rejected.
    void resume(bool run_held)
    {
        std::vector<filter_next> held;
        {
            std::lock_guard lock(mu_);
            hung_ = false;
            delay_ = {};
            held.swap(held_);
        }
        // Outside the lock: a call going on may reach this filter's after() at once.
        if (run_held)
            for (auto& next : held)
                next();
    }

private:
    asio::any_io_executor ex_;
    std::mutex mu_;
    bool hung_ = false;
    std::chrono::milliseconds delay_{0};
    std::vector<filter_next> held_;
};

} // namespace

struct basic_cluster::node {
    std::string id;
    std::string type;
    std::uint16_t port = 0;
    asio::any_io_executor strand;
    std::vector<std::function<void(dispatcher&, const asio::any_io_executor&)>> binders;
    std::shared_ptr<fault_filter> faults;
    std::optional<server> srv;
    bool running = false;
    /// The incarnation: each start is a new one, as a registry would number it.
    std::uint64_t epoch = 0;
};

basic_cluster::basic_cluster(cluster_options options) : options_(std::move(options))
{
    auto station_options = options_.station;
    if (station_options.client_id.empty())
        station_options.client_id = "test-caller";
    if (!station_options.log.sink)
        station_options.log.min_level = log_level::off;
    work_.emplace(ioc_.get_executor());
    station_.emplace(ioc_.get_executor(), std::move(station_options));
    station_->add_transport("tcp", tcp::make_mailbox_factory());
    proxy_.emplace(*station_, router_, &client_filters_);
    for (unsigned i = 0; i < std::max(1u, options_.threads); ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

basic_cluster::~basic_cluster()
{
    client_filters_.close();
    station_->close();
    for (auto& n : nodes_) {
        if (n->faults)
            n->faults->resume(false);
        if (n->srv)
            n->srv->stop();
    }
    work_.reset();
    for (auto& t : threads_)
        t.join();
}

basic_cluster::server_handle basic_cluster::add_server(const std::string& id,
                                                       const std::string& type)
{
    for (const auto& n : nodes_)
        if (n->id == id)
            throw std::invalid_argument("mailroom::testing::cluster: server \"" + id +
                                        "\" added twice");
    auto n = std::make_unique<node>();
    n->id = id;
    n->type = type;
    n->strand = asio::make_strand(ioc_);
    start(*n);
    station_->add_server(
        {.id = id, .server_type = type, .host = "127.0.0.1", .port = n->port, .epoch = n->epoch});
    nodes_.push_back(std::move(n));
    return server_handle(this, id);
}

void basic_cluster::add_binder(const std::string& id,
                               std::function<void(dispatcher&, const asio::any_io_executor&)> bind)
{
    auto& n = find(id);
    if (n.srv)
        bind(n.srv->get_dispatcher(), n.strand);
    n.binders.push_back(std::move(bind));
}

void basic_cluster::start(node& n)
{
    n.faults = std::make_shared<fault_filter>(ioc_.get_executor());
    n.srv.emplace(ioc_.get_executor(),
                  server_options{.server_id = n.id, .log = options_.server_log});
    n.srv->set_epoch(++n.epoch);
    for (auto& bind : n.binders)
        bind(n.srv->get_dispatcher(), n.strand);
    n.srv->filters().add(n.faults);
    auto acceptor = tcp::make_acceptor(ioc_.get_executor(), {.host = "127.0.0.1", .port = n.port});
    if (auto ec = n.srv->listen(acceptor))
        throw std::system_error(ec, "mailroom::testing::cluster: " + n.id + " cannot listen");
    n.port = acceptor->port();
    n.running = true;
}

basic_cluster::node& basic_cluster::find(const std::string& id)
{
    for (auto& n : nodes_)
        if (n->id == id)
            return *n;
    throw std::invalid_argument("mailroom::testing::cluster: no server \"" + id + "\"");
}

void basic_cluster::stop(const std::string& id)
{
    auto& n = find(id);
    n.faults->resume(false); // held calls are rejected; their links close just after
    n.srv->stop();
    n.running = false;
}

void basic_cluster::restart(const std::string& id)
{
    auto& n = find(id);
    if (n.running)
        stop(id);
    start(n);
    // A restart is a new incarnation (docs/membership.md): the station gets its entry with
    // the new epoch, as from a registry, so it connects afresh instead of treating the
    // server as still down from the stop (calls to a down server fail at once until a
    // background probe, up to probe_delay later).
    station_->add_server({.id = n.id, .server_type = n.type, .host = "127.0.0.1",
                          .port = n.port, .epoch = n.epoch});
}

void basic_cluster::hang(const std::string& id) { find(id).faults->hang(); }

void basic_cluster::slow_down(const std::string& id, std::chrono::milliseconds delay)
{
    find(id).faults->slow_down(delay);
}

void basic_cluster::resume(const std::string& id) { find(id).faults->resume(true); }

void basic_cluster::drain(const std::string& id) { find(id).srv->drain(); }

server& basic_cluster::server_of(const std::string& id) { return *find(id).srv; }

} // namespace mailroom::testing
