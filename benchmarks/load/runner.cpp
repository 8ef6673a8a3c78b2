#include "runner.hpp"

#include <boost/asio/post.hpp>

#include <optional>
#include <thread>

#include "proc_stats.hpp"
#include "redis_side.hpp"

namespace mailroom::load {

namespace asio = boost::asio;

void run_on_threads(asio::io_context& ioc, unsigned n)
{
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < n; ++i)
        extra.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
        t.join();
}

std::vector<std::string> server_child_args(const load_options& o)
{
    std::vector<std::string> a{"--transport", o.transport,
                               "--host",      o.host,
                               "--port",      "0",
                               "--payload",   std::to_string(o.payload),
                               "--threads",   std::to_string(o.threads)};
    if (!o.server_cpus.empty()) {
        a.push_back("--pin");
        a.push_back(format_cpus(o.server_cpus));
    }
    if (o.metrics)
        a.push_back("--metrics");
    if (!o.redis_url.empty()) {
        a.push_back("--redis-url");
        a.push_back(o.redis_url);
    }
    if (o.take_depth != 1) {
        a.push_back("--take-depth");
        a.push_back(std::to_string(o.take_depth));
    }
    return a;
}

server_side::server_side(asio::io_context& ioc, const load_options& o)
{
    switch (o.mode) {
    case run_mode::inproc:
        local_ = make_echo_server(ioc, o);
        port_ = local_->port();
        break;
    case run_mode::separate:
        child_ = std::make_unique<server_child>(server_child_args(o));
        port_ = child_->port();
        break;
    default:
        port_ = o.port;
        break;
    }
}

std::optional<server_stats> server_side::stats()
{
    if (child_)
        return child_->stats();
    if (local_)
        return own_stats(local_->connections(), local_->held());
    return std::nullopt;
}

void server_side::release()
{
    if (child_)
        child_->release();
    else if (local_)
        local_->release_held();
}

void server_side::stop()
{
    if (local_)
        local_->stop();
}

bool server_side::finish()
{
    stop();
    return !child_ || child_->stop() == 0;
}

measurement run_once(const load_options& options)
{
    // Over Redis: the run's own redis-server (unless --redis-url), which both ends use.
    std::unique_ptr<redis_side> redis;
    load_options o = options;
    if (uses_redis(o.transport)) {
        redis = std::make_unique<redis_side>(o);
        o.redis_url = redis->url();
    }
    measurement m;
    m.transport = o.transport;
    asio::io_context ioc;
    server_side server(ioc, o);

    std::optional<server_stats> s0, s1;
    std::optional<double> r0, r1;
    cpu_times c0, c1;
    std::unique_ptr<caller> c;
    load_hooks hooks{
        .measure_begin =
            [&] {
                // Nothing is in flight here: the server is idle while it answers.
                if (server.separate())
                    s0 = server.stats();
                if (redis)
                    r0 = redis->cpu_us();
                c0 = process_cpu();
            },
        .measure_end =
            [&] {
                c1 = process_cpu();
                if (redis)
                    r1 = redis->cpu_us();
                if (server.separate())
                    s1 = server.stats();
            },
        .done =
            [&] {
                c->close();
                server.stop();
            }};
    echo_load load(o, std::move(hooks));
    c = make_caller(ioc, o, server.port(), load);
    asio::post(ioc, [&] { load.start(*c); });
    run_on_threads(ioc, o.threads);

    m.result = load.take_result();
    m.sum = summarise(m.result);
    m.result.latencies_ns.clear();
    m.result.latencies_ns.shrink_to_fit();

    const double n = static_cast<double>(m.sum.measured);
    auto& u = m.use;
    u.peak_rss_kib = static_cast<double>(peak_rss_kib());
    if (n > 0) {
        const double client = (c1.total_us() - c0.total_us()) / n;
        if (o.mode == run_mode::inproc) {
            u.cpu_scope = "process";
            u.cpu_us_per_call = client;
        } else if (s0 && s1) {
            u.cpu_scope = "client+server";
            u.client_cpu_us_per_call = client;
            u.server_cpu_us_per_call = (s1->cpu_us() - s0->cpu_us()) / n;
            u.cpu_us_per_call = client + u.server_cpu_us_per_call;
        } else {
            u.cpu_scope = "client";
            u.client_cpu_us_per_call = client;
            u.cpu_us_per_call = client;
        }
        if (r0 && r1) {
            // Redis does part of every call's work: it counts in the total.
            u.redis_cpu_us_per_call = (*r1 - *r0) / n;
            u.cpu_us_per_call += u.redis_cpu_us_per_call;
            u.cpu_scope += "+redis";
        }
    }
    if (s1)
        u.server_peak_rss_kib = static_cast<double>(s1->maxrss_kib);
    if (!server.finish() && m.result.errors == 0) {
        m.result.errors = 1;
        m.result.first_error = "the server child did not exit cleanly";
    }
    return m;
}

} // namespace mailroom::load
