// mailroom's side of the pomelo interop latency comparison (interop.sh): a C++ server or
// client on the pomelo transport, talking to stock pomelo-rpc 1.0.7 peers.
//
//   mailroom-pomelo-peer serve [--no-quickack] [--batch]
//       serves user.echoRemote.echo(string) -> string on a free loopback port, prints
//       "listening on PORT", and stops at the end of stdin.
//   mailroom-pomelo-peer call --port P [--inflight N] [--duration S] [--payload B]
//                             [--no-quickack] [--batch]
//       keeps N echo calls in flight against a pomelo-rpc server for S seconds (after 1,000
//       warm-up calls) and prints one JSON object with calls_per_sec and latency percentiles
//       (the keys of client.js).
#include <mailroom/client.hpp>
#include <mailroom/pomelo.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

struct flags {
    std::string mode;
    std::uint16_t port = 0;
    int inflight = 1;
    double duration = 3;
    std::size_t payload = 64;
    bool quick_ack = true;
    bool batch = false;
};

flags parse(int argc, char** argv)
{
    flags f;
    if (argc > 1)
        f.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--port")
            f.port = static_cast<std::uint16_t>(std::stoi(next()));
        else if (a == "--inflight")
            f.inflight = std::stoi(next());
        else if (a == "--duration")
            f.duration = std::stod(next());
        else if (a == "--payload")
            f.payload = std::stoul(next());
        else if (a == "--no-quickack")
            f.quick_ack = false;
        else if (a == "--batch")
            f.batch = true;
        else
            throw std::invalid_argument("unknown option " + a);
    }
    return f;
}

int serve(const flags& f)
{
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    mailroom::server srv(ioc.get_executor(), {.server_id = "cpp-echo-1"});
    srv.get_dispatcher().add("echoRemote", "echo", [](std::string s) { return s; });
    mailroom::pomelo::acceptor_options o{.port = 0};
    o.link.quick_ack = f.quick_ack;
    o.link.batch = f.batch;
    auto acc = mailroom::pomelo::make_acceptor(ioc.get_executor(), o);
    if (auto ec = srv.listen(acc, mailroom::pomelo::make_protocol())) {
        std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
        return 1;
    }
    std::thread io([&] { ioc.run(); });
    std::printf("listening on %u\n", acc->port());
    std::fflush(stdout);
    for (std::string line; std::getline(std::cin, line);) {
    }
    srv.stop();
    work.reset();
    ioc.stop();
    io.join();
    return 0;
}

double percentile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty())
        return 0;
    const auto rank = std::clamp<std::size_t>(static_cast<std::size_t>(q * sorted.size() + 0.999999),
                                              1, sorted.size());
    return sorted[rank - 1];
}

int call(const flags& f)
{
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    mailroom::pomelo::link_options link;
    link.quick_ack = f.quick_ack;
    link.batch = f.batch;
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "cpp-bench"});
    station.add_transport("pomelo", mailroom::pomelo::make_mailbox_factory(link),
                          mailroom::pomelo::make_protocol());
    station.add_server({.id = "echo-1", .server_type = "echo", .host = "127.0.0.1",
                        .port = f.port, .transport = "pomelo"});
    mailroom::router router;
    mailroom::proxy rpc(station, router);
    std::thread io([&] { ioc.run(); });

    const mailroom::protocol::method_path path{.server_type = "echo", .service = "echoRemote",
                                               .method = "echo"};
    const auto args = std::make_tuple(std::string(f.payload, 'a'));
    std::mutex mu;
    std::vector<double> lat;
    std::atomic<bool> record{false}, stop{false};
    std::atomic<long> errors{0}, outstanding{0}, warm{0};
    std::promise<void> drained;
    std::atomic<bool> drained_set{false};
    std::function<void()> issue = [&] {
        if (stop.load()) {
            if (outstanding.load() == 0 && !drained_set.exchange(true))
                drained.set_value();
            return;
        }
        ++outstanding;
        const auto t0 = clock_type::now();
        rpc.async_call_to<std::string>("echo-1", path, args, [&, t0](std::error_code ec, std::string) {
            const double us =
                std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
            if (ec)
                ++errors;
            else if (record.load()) {
                std::lock_guard lock(mu);
                lat.push_back(us);
            } else
                ++warm;
            --outstanding;
            issue();
        });
    };
    for (int i = 0; i < f.inflight; ++i)
        asio::post(ioc, issue);
    const auto warm_start = clock_type::now();
    while (warm.load() < 1000 && clock_type::now() - warm_start < std::chrono::seconds(2))
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // a benchmark's warm-up
    {
        std::lock_guard lock(mu);
        lat.clear();
    }
    record = true;
    const auto t0 = clock_type::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(f.duration)); // the measured time
    record = false;
    const double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
    stop = true;
    drained.get_future().wait_for(std::chrono::seconds(30));
    std::vector<double> sorted;
    {
        std::lock_guard lock(mu);
        sorted = lat;
    }
    std::sort(sorted.begin(), sorted.end());
    std::printf("{\"transport\":\"pomelo\",\"config\":\"mailroom%s\",\"inflight\":%d,"
                "\"payload\":%zu,\"measured_calls\":%zu,\"errors\":%ld,\"seconds\":%.3f,"
                "\"calls_per_sec\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f}\n",
                f.quick_ack ? "" : " no-quickack", f.inflight, f.payload, sorted.size(),
                errors.load(), elapsed, sorted.size() / elapsed, percentile(sorted, 0.5),
                percentile(sorted, 0.9), percentile(sorted, 0.99));
    station.close();
    work.reset();
    ioc.stop();
    io.join();
    return errors.load() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const auto f = parse(argc, argv);
        if (f.mode == "serve")
            return serve(f);
        if (f.mode == "call" && f.port)
            return call(f);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailroom-pomelo-peer: %s\n", e.what());
        return 2;
    }
    std::fprintf(stderr, "usage: mailroom-pomelo-peer serve|call --port P [--inflight N] "
                         "[--duration S] [--payload B] [--no-quickack] [--batch]\n");
    return 2;
}
