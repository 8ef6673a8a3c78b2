#include "idle_links.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <tuple>

#include "../load/proc_stats.hpp"
#include "sim_report.hpp"

namespace mailroom::cluster_sim {

namespace {

namespace asio = boost::asio;

std::size_t open_fds()
{
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

std::string peer_id(std::size_t k) { return fmt::format("peer-{:05}", k); }

} // namespace

int run_idle_links(const sim_options& o)
{
    const std::size_t k = std::max<std::size_t>(o.links, 2);
    // Both ends of every link are in this process.
    const std::size_t nofile = load::raise_nofile(2 * k + 256);
    if (nofile < 2 * k + 256) {
        fmt::print(stderr, "mailroom-cluster-sim: RLIMIT_NOFILE is {}, {} links need {}\n", nofile,
                   k, 2 * k + 256);
        return 1;
    }
    asio::io_context ioc{1};
    auto guard = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });

    // An empty server id: every entry of the station below names this one server, each under
    // its own id (so each gets its own mail box), and the handshake checks no id.
    server srv(ioc.get_executor(), {.server_id = ""});
    srv.get_dispatcher().add("echoRemote", "echo", [](std::string s) { return s; });
    auto acc = tcp::make_acceptor(ioc.get_executor(), {.host = "127.0.0.1", .port = 0});
    if (auto ec = srv.listen(acc)) {
        fmt::print(stderr, "mailroom-cluster-sim: cannot listen: {}\n", ec.message());
        guard.reset();
        ioc.stop();
        runner.join();
        return 1;
    }
    mail_station station(ioc.get_executor(), {.client_id = "mesh-0"});
    station.add_transport("tcp", tcp::make_mailbox_factory());
    for (std::size_t i = 0; i < k; ++i)
        station.add_server({.id = peer_id(i), .server_type = "peer", .host = "127.0.0.1",
                            .port = acc->port(), .transport = "tcp"});
    router rt;
    proxy rpc(station, rt);
    const protocol::method_path echo{.server_type = "peer", .service = "echoRemote", .method = "echo"};
    const std::tuple<std::string> args{"x"};

    std::atomic<std::size_t> errors{0};
    std::string first_error;
    // Opens links [from, to) with one call each; returns once all have answered.
    auto open = [&](std::size_t from, std::size_t to) {
        auto left = std::make_shared<std::atomic<std::size_t>>(to - from);
        auto done = std::make_shared<std::promise<void>>();
        auto f = done->get_future();
        asio::post(ioc, [&, from, to, left, done] {
            for (std::size_t i = from; i < to; ++i)
                rpc.async_call_to<std::string>(peer_id(i), echo, args,
                                               [&, left, done](std::error_code ec, std::string) {
                                                   if (ec && errors.fetch_add(1) == 0)
                                                       first_error = ec.message();
                                                   if (left->fetch_sub(1) == 1)
                                                       done->set_value();
                                               });
        });
        f.wait();
    };
    // The first link warms up what every link shares (allocator arenas, the dispatcher).
    open(0, 1);
    const double rss0 = static_cast<double>(load::current_rss_kib()) * 1024;
    const double heap0 = static_cast<double>(load::heap_in_use());
    const double fds0 = static_cast<double>(open_fds());
    // At most 200 connecting at once: under the listen backlog.
    for (std::size_t i = 1; i < k; i += 200)
        open(i, std::min(k, i + 200));
    const double rss1 = static_cast<double>(load::current_rss_kib()) * 1024;
    const double heap1 = static_cast<double>(load::heap_in_use());
    const double fds1 = static_cast<double>(open_fds());
    const double links = static_cast<double>(k - 1);
    const double server_links = static_cast<double>(srv.connections());

    station.close();
    srv.stop();
    guard.reset();
    asio::post(ioc, [&] { ioc.stop(); }); // the server's graceful stop may wait on idle links
    runner.join();

    if (errors > 0) {
        fmt::print(stderr, "mailroom-cluster-sim: {} links failed: {}\n", errors.load(), first_error);
        return 1;
    }
    const double rss_per = (rss1 - rss0) / links;
    const double heap_per = (heap1 - heap0) / links;
    const double fds_per = (fds1 - fds0) / links;
    sim_report rep(fmt::format("mailroom-cluster-sim: {} idle tcp links, both ends in this process", k));
    rep.add("links", static_cast<double>(k));
    rep.add("server_links_open", server_links);
    rep.add("rss_bytes_per_link_both_ends", rss_per);
    rep.add("heap_bytes_per_link_both_ends", heap_per);
    rep.add("fds_per_link_both_ends", fds_per, 2);
    // A full mesh of n servers: each calls the n - 1 others (a mail box and an outgoing
    // socket per peer) and is called by them (a session and an incoming socket per peer),
    // plus the registry's two links to Redis.
    for (double mesh : {100.0, 1000.0}) {
        const auto tag = fmt::format("mesh_{:.0f}", mesh);
        rep.add(tag + "_sockets_per_server", 2 * (mesh - 1) + 2);
        rep.add(tag + "_link_mib_per_server", (mesh - 1) * rss_per / (1024 * 1024), 1);
        rep.add(tag + "_links_in_cluster", mesh * (mesh - 1));
    }
    rep.add("nofile_limit", static_cast<double>(nofile));
    rep.print(o.json);
    return 0;
}

} // namespace mailroom::cluster_sim
