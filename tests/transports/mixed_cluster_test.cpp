// One client, one servers.json, servers on different transports: tcp, ws, ws over TLS, tcp
// over TLS and the unix example transport. The client is an App that reaches all of them
// through the same typed stubs and the same router.

#include "support/test_certificate.hpp"
#include "support/wait.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/remote.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/ws.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <uds_transport.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace {

namespace asio = boost::asio;
using mailroom::test::wait;

MAILROOM_REMOTE(zone_remote, zoneRemote,
    (where, std::string())
    (add, int(int a, int b)));

struct zone_impl {
    std::string id;
    std::string where() { return id; }
    int add(int a, int b) { return a + b; }
};

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"zone", zone_remote> zone{*this};
};

/// The transports as an App registers them, by the names servers.json uses.
std::map<std::string, mailroom::transport> all_transports()
{
    return {{"tcp", mailroom::tcp::make_transport()},
            {"ws", mailroom::ws::make_transport()},
            {"unix", uds::make_transport()}};
}

nlohmann::json entry_json(const mailroom::server_info& s)
{
    nlohmann::json j{{"id", s.id}, {"host", s.host}, {"port", s.port}, {"transport", s.transport}};
    for (const auto& [k, v] : s.options)
        j[k] = v;
    return j;
}

TEST(MixedCluster, OneClientReachesServersOnEveryTransportThroughTheSameStubs)
{
    mailroom::test::test_certificate cert("mixed");
    const auto dir = mailroom::test::make_temp_dir("mixed");
    const std::map<std::string, std::string> tls{{"tls_cert", cert.cert_file().string()},
                                                 {"tls_key", cert.key_file().string()},
                                                 {"tls_ca", cert.cert_file().string()}};
    auto with = [](std::map<std::string, std::string> a, const std::map<std::string, std::string>& b) {
        a.insert(b.begin(), b.end());
        return a;
    };
    auto opts = [](const std::map<std::string, std::string>& m) {
        return std::map<std::string, std::string, std::less<>>(m.begin(), m.end());
    };
    const std::map<std::string, std::string> ws{{"ws_path", "/zone"}, {"ws_token", "cluster-secret"}};
    // Port 0: the acceptors pick free ports, written into servers.json once they listen.
    std::vector<mailroom::server_info> zones{
        {.id = "zone-tcp", .server_type = "zone", .host = "127.0.0.1", .transport = "tcp"},
        {.id = "zone-tls", .server_type = "zone", .host = "127.0.0.1", .transport = "tcp",
         .options = opts(tls)},
        {.id = "zone-ws", .server_type = "zone", .host = "127.0.0.1", .transport = "ws",
         .options = opts(ws)},
        {.id = "zone-wss", .server_type = "zone", .host = "127.0.0.1", .transport = "ws",
         .options = opts(with(ws, tls))},
        {.id = "zone-unix", .server_type = "zone", .host = "localhost", .port = 1,
         .transport = "unix", .options = {{"path", (dir / "zone.sock").string()}}},
    };

    // The servers, each built by its transport's acceptor factory from its entry.
    asio::io_context ioc;
    auto transports = all_transports();
    std::vector<std::unique_ptr<zone_impl>> impls;
    std::vector<std::unique_ptr<mailroom::server>> servers;
    for (auto& z : zones) {
        impls.push_back(std::make_unique<zone_impl>(zone_impl{z.id}));
        servers.push_back(std::make_unique<mailroom::server>(
            ioc.get_executor(), mailroom::server_options{.server_id = z.id,
                                                         .log = {.min_level = mailroom::log_level::off}}));
        zone_remote::bind(servers.back()->get_dispatcher(), *impls.back());
        auto acc = transports.at(z.transport).acceptor(ioc.get_executor(), z);
        ASSERT_FALSE(servers.back()->listen(acc)) << z.id;
        if (auto* t = dynamic_cast<mailroom::tcp::acceptor*>(acc.get()))
            z.port = t->port();
        else if (auto* w = dynamic_cast<mailroom::ws::acceptor*>(acc.get()))
            z.port = w->port();
    }
    std::thread io([&] { ioc.run(); });

    nlohmann::json config;
    for (const auto& z : zones)
        config["development"]["zone"].push_back(entry_json(z));
    config["development"]["connector"].push_back(
        {{"id", "connector-1"}, {"host", "localhost"}, {"port", 1}, {"transport", "unix"},
         {"path", (dir / "connector.sock").string()}});
    std::ofstream(dir / "servers.json") << config.dump(2);

    {
        mailroom::app<cluster_rpc> app({.config = dir / "servers.json", .server_id = "connector-1",
                                        .threads = 2,
                                        .log = {.min_level = mailroom::log_level::off}});
        for (auto& [name, t] : all_transports())
            app.add_transport(name, t);
        app.routes().set("zone", mailroom::routes::round_robin());
        app.start();

        // The same stub, pointed at each server.
        for (const auto& z : zones) {
            auto f = app.rpc.zone.zoneRemote.to_server(z.id).where(asio::use_future);
            EXPECT_EQ(wait(f), std::make_tuple(std::error_code{}, z.id)) << z.transport;
        }
        // The same stub, routed: round robin visits every server, whatever its transport.
        std::set<std::string> answered;
        std::vector<std::future<std::tuple<std::error_code, int>>> sums;
        for (int i = 0; i < 50; ++i) {
            auto f = app.rpc.zone.zoneRemote.where("user-" + std::to_string(i), asio::use_future);
            auto [ec, id] = wait(f);
            EXPECT_FALSE(ec) << ec.message();
            answered.insert(id);
            sums.push_back(app.rpc.zone.zoneRemote.add("user-" + std::to_string(i), i, i,
                                                       asio::use_future));
        }
        EXPECT_EQ(answered.size(), zones.size());
        for (int i = 0; i < 50; ++i)
            EXPECT_EQ(wait(sums[i]), std::make_tuple(std::error_code{}, 2 * i));
        app.stop();
        app.wait();
    }
    for (auto& s : servers)
        s->stop();
    io.join();
    std::filesystem::remove_all(dir);
}

} // namespace
