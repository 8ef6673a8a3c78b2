#include <mailroom/app/app.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <cstdlib>
#include <system_error>

namespace mailroom {
namespace {

unsigned parse_unsigned(std::string_view name, std::string_view value, unsigned max)
{
    unsigned v = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), v);
    if (r.ec != std::errc{} || r.ptr != value.data() + value.size() || v > max)
        throw config_error("command line: " + std::string(name) + ": expected a number up to " +
                           std::to_string(max) + ", got \"" + std::string(value) + "\"");
    return v;
}

// A stub_context views its server type, and sys() finds the type in a copy of the cluster
// table that is freed when sys() returns (a reload or a registry event replaces the table as
// well): the stubs view a name kept for the process instead, one per server type ever named.
std::string_view interned_server_type(const std::string& type)
{
    static std::mutex mu;
    static std::set<std::string, std::less<>> names;
    std::lock_guard lock(mu);
    return *names.insert(type).first;
}

} // namespace

app_options app_options::from_args(int argc, const char* const* argv)
{
    app_options o;
    if (const char* v = std::getenv("MAILROOM_CONFIG"))
        o.config = v;
    if (const char* v = std::getenv("MAILROOM_ENV"))
        o.env = v;
    if (const char* v = std::getenv("MAILROOM_SERVER_ID"))
        o.server_id = v;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view name, value;
        bool has_value = false;
        if (arg.starts_with("--")) {
            arg.remove_prefix(2);
            if (auto eq = arg.find('='); eq != arg.npos) {
                name = arg.substr(0, eq);
                value = arg.substr(eq + 1);
                has_value = true;
            } else {
                name = arg;
            }
        } else if (auto eq = arg.find('='); eq != arg.npos) { // pomelo style: env=..., serverId=...
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
            if (name == "serverId" || name == "id")
                name = "server-id";
        } else {
            throw config_error("command line: unexpected argument \"" + std::string(arg) + "\"");
        }
        if (!has_value) {
            if (i + 1 >= argc)
                throw config_error("command line: --" + std::string(name) + " needs a value");
            value = argv[++i];
        }
        if (name == "config")
            o.config = std::string(value);
        else if (name == "env")
            o.env = std::string(value);
        else if (name == "server-id")
            o.server_id = std::string(value);
        else if (name == "threads")
            o.threads = std::max(1u, parse_unsigned(name, value, 256));
        else if (name == "grace")
            o.grace = std::chrono::milliseconds(parse_unsigned(name, value, 3'600'000));
        else if (name == "admin-port")
            o.admin.port = static_cast<std::uint16_t>(parse_unsigned(name, value, 65'535));
        else
            throw config_error("command line: unknown option \"" + std::string(name) +
                               "\" (expected --config, --env, --server-id, --threads, --grace, "
                               "--admin-port)");
    }
    return o;
}

/// The built-in sys remotes.
struct basic_app::sys_impl {
    basic_app* app;

    std::vector<method_description> methods() const { return app->methods_; }

    health_status ping() const
    {
        auto up = std::chrono::steady_clock::now() - app->started_;
        return {app->self_.id, app->self_.server_type,
                static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(up).count())};
    }

    metrics::metrics_snapshot snapshot() const { return app->metrics_snapshot(); }
};

basic_app::basic_app(app_options options) : options_(std::move(options))
{
    if (options_.server_id.empty())
        throw config_error("no server id: pass --server-id ID (or serverId=ID, or set "
                           "MAILROOM_SERVER_ID)");
    config_ = load_servers(options_.config, options_.env);
    cluster_ = config_;
    auto it = std::find_if(cluster_.begin(), cluster_.end(),
                           [&](const server_info& s) { return s.id == options_.server_id; });
    if (it == cluster_.end())
        throw config_error(options_.config.string() + ": " + options_.env +
                           ": no server with id \"" + options_.server_id + "\"");
    self_ = *it;
    // Authentication set in code wins; otherwise servers.json's, or the environment's.
    if (!options_.server.auth.enabled() && !options_.station.auth.enabled()) {
        const auto auth = load_auth(options_.config, options_.env);
        options_.server.auth = auth;
        options_.station.auth = auth;
    }

    auto station_options = options_.station;
    station_options.client_id = self_.id;
    if (!station_options.log.sink && station_options.log.min_level == log_level::warning)
        station_options.log = options_.log;
    station_.emplace(ioc_.get_executor(), std::move(station_options));
    proxy_.emplace(*station_, router_, &client_filters_);
    auto server_options = options_.server;
    server_options.server_id = self_.id;
    if (!server_options.log.sink && server_options.log.min_level == log_level::warning)
        server_options.log = options_.log;
    if (options_.metrics) {
        metrics_ = std::make_shared<metrics::registry>(options_.metrics_limits);
        server_options.metrics = metrics_;
        proxy_->set_metrics(metrics_.get());
    }
    server_.emplace(ioc_.get_executor(), std::move(server_options));

    sys_ = std::make_unique<sys_impl>(sys_impl{this});
    auto strand = asio::make_strand(ioc_);
    serve<sys::introspect_remote>(*sys_, strand, "sys");
    serve<sys::health_remote>(*sys_, strand, "sys");
    serve<sys::metrics_remote>(*sys_, strand, "sys");
}

basic_app::~basic_app()
{
    if (!threads_.empty()) {
        if (!stopping_.exchange(true))
            asio::post(ioc_, [this] { finish(); });
        wait();
    }
    // Our reference to the registry goes before our io_context: its strand and timer are
    // bound to it (a caller that keeps the registry must drop it before the App ends).
    options_.registry.reset();
}

void basic_app::add_transport(std::string name, transport t)
{
    transports_.emplace_back(std::move(name), std::move(t));
}

void basic_app::describe(std::string_view ns, std::string_view service, std::string_view method,
                         std::string_view signature)
{
    methods_.push_back({std::string(ns), std::string(service), std::string(method),
                        std::string(signature)});
}

sys_stubs basic_app::sys(std::string server_id)
{
    auto c = std::make_shared<stub_context>();
    c->rpc = &*proxy_;
    // The server type names the target in logs and filters.
    for (const auto& s : cluster())
        if (s.id == server_id)
            c->server_type = interned_server_type(s.server_type);
    c->target = std::move(server_id);
    return sys_stubs(c);
}

void basic_app::start()
{
    if (started_flag_)
        return;
    started_flag_ = true;
    started_ = std::chrono::steady_clock::now();
    const transport* own = nullptr;
    for (const auto& [name, t] : transports_) {
        station_->add_transport(name, t.mailbox, t.protocol);
        if (name == self_.transport)
            own = &t;
    }
    // Every entry, not only our own: a typo in another server's entry would otherwise
    // surface only at the first call to it, as a per-call error.
    for (const auto& s : cluster_) {
        auto known = std::any_of(transports_.begin(), transports_.end(),
                                 [&](const auto& t) { return t.first == s.transport; });
        if (known)
            continue;
        std::string registered;
        for (const auto& t : transports_)
            registered += (registered.empty() ? "" : ", ") + t.first;
        throw config_error(options_.config.string() + ": " + options_.env + ": server \"" +
                           s.id + "\" uses transport \"" + s.transport +
                           "\", which this program did not register (registered: " +
                           (registered.empty() ? "none" : registered) + ")");
    }
    {
        std::lock_guard lock(members_mu_);
        station_->replace_servers(cluster_);
    }
    if (auto ec = server_->listen(own->acceptor(ioc_.get_executor(), self_), own->protocol))
        throw std::system_error(ec, self_.id + ": cannot listen on " + self_.host + ":" +
                                        std::to_string(self_.port));
    options_.log.log(log_level::info, "{} ({}) listening on {}:{} over {}", self_.id,
                     self_.server_type, self_.host, self_.port, self_.transport);
    start_admin();
    if (options_.registry) {
        // Registered only once listening: a peer that finds us can call at once. The table
        // arrives on the registry's strand; it is applied on the App's context.
        options_.registry->start(ioc_.get_executor(), self_, [this](std::vector<server_info> m) {
            // Our own entry carries the epoch the registry gave this incarnation: clients
            // that learnt it check it in the handshake.
            for (const auto& s : m)
                if (s.id == self_.id && s.epoch != 0)
                    server_->set_epoch(s.epoch);
            std::lock_guard lock(members_mu_);
            members_ = std::move(m);
            apply_members();
        });
    }
    work_.emplace(ioc_.get_executor());
    for (unsigned i = 0; i < std::max(1u, options_.threads); ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

void basic_app::wait()
{
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
}

int basic_app::run()
{
    signals_.emplace(ioc_, SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int) {
        if (!ec)
            stop();
    });
    wait_for_hangup();
    start();
    wait();
    return 0;
}

void basic_app::wait_for_hangup()
{
    if (!hangup_)
        hangup_.emplace(ioc_, SIGHUP);
    hangup_->async_wait([this](const boost::system::error_code& ec, int) {
        if (ec)
            return;
        try {
            reload_config();
        } catch (const config_error& e) {
            options_.log.log(log_level::error, "{}: SIGHUP: {}; keeping the servers it had",
                             self_.id, e.what());
        }
        wait_for_hangup();
    });
}

void basic_app::reload_config()
{
    auto servers = load_servers(options_.config, options_.env);
    std::lock_guard lock(members_mu_);
    config_ = std::move(servers);
    apply_members();
    options_.log.log(log_level::info, "{}: reloaded {}: {} servers known", self_.id,
                     options_.config.string(), cluster_.size());
}

std::vector<server_info> basic_app::cluster() const
{
    std::lock_guard lock(members_mu_);
    return cluster_;
}

void basic_app::apply_members()
{
    std::map<std::string, server_info, std::less<>> merged;
    for (const auto& s : config_)
        merged[s.id] = s;
    if (members_)
        for (const auto& s : *members_)
            merged[s.id] = s; // the registry is live: it wins over the file
    merged[self_.id] = self_;
    if (members_)
        for (const auto& s : *members_)
            if (s.id == self_.id)
                merged[s.id] = s; // our own entry with its epoch
    std::vector<server_info> next;
    next.reserve(merged.size());
    for (auto& [id, s] : merged) {
        const bool known = std::any_of(transports_.begin(), transports_.end(),
                                       [&](const auto& t) { return t.first == s.transport; });
        if (!known) {
            options_.log.log(log_level::error,
                             "{}: server \"{}\" uses transport \"{}\", which this program did "
                             "not register; it is left out",
                             self_.id, s.id, s.transport);
            continue;
        }
        next.push_back(std::move(s));
    }
    if (next == cluster_)
        return;
    cluster_ = next;
    if (started_flag_ && !stopping_)
        station_->replace_servers(std::move(next));
}

void basic_app::stop()
{
    if (stopping_.exchange(true))
        return;
    // Leave the registry first: peers stop routing here while the calls in flight drain.
    if (options_.registry)
        options_.registry->stop();
    asio::post(ioc_, [this] {
        options_.log.log(log_level::info, "{} stopping (grace {} ms)", self_.id,
                         options_.grace.count());
        server_->drain();
        drain_step(std::chrono::steady_clock::now() + options_.grace);
    });
}

void basic_app::drain_step(std::chrono::steady_clock::time_point deadline)
{
    if ((server_->in_flight() == 0 && station_->pending() == 0) ||
        std::chrono::steady_clock::now() >= deadline)
        return finish();
    // Polling a counter every few milliseconds is enough for a shutdown and keeps the
    // call path free of drain bookkeeping.
    if (!drain_timer_)
        drain_timer_.emplace(ioc_);
    drain_timer_->expires_after(std::chrono::milliseconds(5));
    drain_timer_->async_wait([this, deadline](const boost::system::error_code& ec) {
        if (!ec)
            drain_step(deadline);
    });
}

void basic_app::finish()
{
    if (options_.registry)
        options_.registry->stop();
    if (hangup_) {
        boost::system::error_code ignored;
        hangup_->cancel(ignored);
    }
    if (admin_)
        admin_->stop();
    client_filters_.close();
    station_->close();
    server_->stop();
    if (signals_) {
        boost::system::error_code ignored;
        signals_->cancel(ignored);
    }
    if (drain_timer_)
        drain_timer_->cancel();
    work_.reset(); // the I/O threads return once the closes have run
}

} // namespace mailroom
