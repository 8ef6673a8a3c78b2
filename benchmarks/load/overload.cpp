// The overload scenario of mailroom-load (--overload US): a server whose one service costs
// US microseconds of CPU per call, behind server_too_busy, is driven past its capacity by
// --inflight outstanding calls for --duration seconds, then offered a light load (4 in
// flight) for as long again. For each phase it reports the calls admitted and refused
// (server_busy), and the latency of each kind: admitted calls should keep a bounded p99,
// refused calls should learn at once, and the light phase should be served in full.

#include "options.hpp"
#include "runner.hpp"

#include <mailroom/client.hpp>
#include <mailroom/filters/too_busy.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace mailroom::load {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

struct phase_result {
    std::vector<double> admitted_us, refused_us;
    std::uint64_t other_errors = 0;
    double seconds = 0;
};

double percentile(std::vector<double>& v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

/// Keeps `inflight` calls outstanding for `seconds`, sorting latencies by outcome.
phase_result drive(proxy& rpc, std::uint64_t inflight, double seconds)
{
    struct state {
        std::mutex mu;
        phase_result r;
        clock::time_point end;
        std::atomic<std::uint64_t> outstanding{0};
        std::promise<void> done;
        proxy* rpc;
        void issue()
        {
            ++outstanding;
            auto t0 = clock::now();
            rpc->async_call<int>({.server_type = "echo", .service = "work", .method = "run"},
                                 "k", std::tuple{1}, [this, t0](std::error_code ec, int) {
                                     const auto t1 = clock::now();
                                     const double us =
                                         std::chrono::duration<double, std::micro>(t1 - t0).count();
                                     {
                                         std::lock_guard lock(mu);
                                         if (!ec)
                                             r.admitted_us.push_back(us);
                                         else if (ec == error::server_busy)
                                             r.refused_us.push_back(us);
                                         else
                                             ++r.other_errors;
                                     }
                                     if (t1 < end)
                                         issue();
                                     if (--outstanding == 0)
                                         done.set_value();
                                 });
        }
    } s;
    s.rpc = &rpc;
    const auto start = clock::now();
    s.end = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
    for (std::uint64_t i = 0; i < inflight; ++i)
        s.issue();
    s.done.get_future().wait();
    s.r.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return std::move(s.r);
}

std::string describe(const char* name, phase_result& r, bool json)
{
    const double a50 = percentile(r.admitted_us, 0.50), a99 = percentile(r.admitted_us, 0.99);
    const double r50 = percentile(r.refused_us, 0.50), r99 = percentile(r.refused_us, 0.99);
    if (json)
        return fmt::format(R"("{}": {{"admitted": {}, "refused": {}, "other_errors": {}, )"
                           R"("admitted_per_sec": {:.0f}, "admitted_p50_us": {:.1f}, )"
                           R"("admitted_p99_us": {:.1f}, "refused_p50_us": {:.1f}, "refused_p99_us": {:.1f}}})",
                           name, r.admitted_us.size(), r.refused_us.size(), r.other_errors,
                           static_cast<double>(r.admitted_us.size()) / r.seconds, a50, a99, r50, r99);
    return fmt::format("{:9} admitted {:8} ({:8.0f}/s) p50 {:8.1f} us p99 {:8.1f} us | refused "
                       "{:8} p50 {:7.1f} us p99 {:7.1f} us | other errors {}\n",
                       name, r.admitted_us.size(),
                       static_cast<double>(r.admitted_us.size()) / r.seconds, a50, a99,
                       r.refused_us.size(), r50, r99, r.other_errors);
}

} // namespace

int run_overload(const load_options& o)
{
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    server srv(ioc.get_executor(), {.server_id = "echo-1", .log = {.min_level = log_level::off}});
    const auto cost = std::chrono::microseconds(o.overload_us);
    // One service, serialized: its capacity is about 1e6 / cost calls per second.
    srv.get_dispatcher().add("work", "run", [cost](int x) {
        const auto until = clock::now() + cost;
        while (clock::now() < until) {
        }
        return x;
    }, asio::make_strand(ioc));
    srv.filters().add(std::make_shared<filters::server_too_busy>(
        ioc.get_executor(), [&srv] { return srv.in_flight(); },
        filters::too_busy_options{.max_lag = std::chrono::milliseconds(70),
                                  .max_in_flight = o.busy_limit}));
    auto acceptor = tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    if (auto ec = srv.listen(acceptor)) {
        std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
        return 1;
    }
    mail_station station(ioc.get_executor(),
                         {.max_in_flight_per_server = std::max<std::size_t>(65'536, o.inflight),
                          .log = {.min_level = log_level::off}});
    station.add_transport("tcp", tcp::make_mailbox_factory());
    station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                        .port = acceptor->port()});
    router routes;
    proxy rpc(station, routes);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < std::max(2u, o.threads); ++i)
        threads.emplace_back([&] { ioc.run(); });

    const double seconds = o.duration_s > 0 ? o.duration_s : 3.0;
    auto overload = drive(rpc, o.inflight, seconds);
    auto light = drive(rpc, 4, seconds);

    station.close();
    srv.stop();
    work.reset();
    for (auto& t : threads)
        t.join();
    if (o.json)
        std::printf("{\"scenario\": \"overload\", \"service_us\": %llu, \"busy_limit\": %llu, "
                    "\"inflight\": %llu, \"seconds_per_phase\": %.1f, %s, %s}\n",
                    static_cast<unsigned long long>(o.overload_us),
                    static_cast<unsigned long long>(o.busy_limit),
                    static_cast<unsigned long long>(o.inflight), seconds,
                    describe("overload", overload, true).c_str(), describe("light", light, true).c_str());
    else
        std::printf("overload scenario: service %llu us/call (capacity ~%.0f/s), too_busy "
                    "max_in_flight %llu, %llu in flight, then 4, %.1f s each\n%s%s",
                    static_cast<unsigned long long>(o.overload_us), 1e6 / static_cast<double>(o.overload_us),
                    static_cast<unsigned long long>(o.busy_limit),
                    static_cast<unsigned long long>(o.inflight), seconds,
                    describe("overload", overload, false).c_str(), describe("light", light, false).c_str());
    return overload.other_errors + light.other_errors == 0 && light.refused_us.empty() ? 0 : 1;
}

} // namespace mailroom::load
