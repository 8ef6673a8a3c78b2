#include "redis/redis_test_cluster.hpp"

#include <mailroom/redis/slot.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "support/eventually.hpp"

namespace mailroom::test {

using namespace std::chrono_literals;

namespace {

bool can_bind(std::uint16_t port)
{
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc);
    boost::system::error_code ec;
    a.open(boost::asio::ip::tcp::v4(), ec);
    if (!ec)
        a.bind({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    return !ec;
}

/// How long the cluster may take to agree after `--cluster create` or a slot move.
constexpr auto cluster_settle_limit = 30s;

} // namespace

std::uint16_t free_cluster_port()
{
    for (int attempt = 0; attempt < 1000; ++attempt) {
        auto p = free_port();
        if (p < 55535 && can_bind(static_cast<std::uint16_t>(p + 10000)))
            return p;
    }
    throw std::runtime_error("no free port pair for a Redis Cluster node");
}

redis_test_cluster::redis_test_cluster()
{
    for (std::size_t i = 0; i < size; ++i)
        nodes_.push_back(std::make_unique<redis_server>(
            std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-node-timeout", "5000"},
            &free_cluster_port));
    std::string create = "redis-cli --cluster create";
    for (auto& n : nodes_)
        create += " 127.0.0.1:" + std::to_string(n->port());
    create += " --cluster-replicas 0 --cluster-yes > /dev/null 2>&1";
    if (std::system(create.c_str()) != 0)
        throw std::runtime_error("redis-cli --cluster create failed: " + create);
    const bool ok = eventually(
        [&] {
            for (auto& n : nodes_)
                if (n->command({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos)
                    return false;
            return true;
        },
        cluster_settle_limit);
    if (!ok)
        throw std::runtime_error("the Redis Cluster did not reach cluster_state:ok");
    for (auto& n : nodes_)
        ids_.push_back(n->command({"CLUSTER", "MYID"}));
}

redis_test_cluster::~redis_test_cluster() = default; // each redis_server stops and cleans up

std::string redis_test_cluster::url() const
{
    return "redis+cluster://127.0.0.1:" + std::to_string(nodes_[0]->port()) +
           ",127.0.0.1:" + std::to_string(nodes_[1]->port());
}

std::size_t redis_test_cluster::master_of(std::uint16_t slot) const
{
    // CLUSTER NODES: "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots>..."
    std::istringstream lines(nodes_[0]->command({"CLUSTER", "NODES"}));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;)
            f.push_back(w);
        for (std::size_t i = 8; i < f.size(); ++i) {
            if (f[i].front() == '[')
                continue; // a migration in progress, not an owner
            auto dash = f[i].find('-');
            const int first = std::stoi(f[i].substr(0, dash));
            const int last = dash == std::string::npos ? first : std::stoi(f[i].substr(dash + 1));
            if (slot >= first && slot <= last)
                for (std::size_t n = 0; n < size; ++n)
                    if (ids_[n] == f[0])
                        return n;
        }
    }
    throw std::runtime_error("slot " + std::to_string(slot) + " has no master");
}

void redis_test_cluster::move_slot(std::uint16_t slot, std::size_t to)
{
    if (master_of(slot) == to)
        return;
    begin_migration(slot, to);
    end_migration(slot, to);
}

void redis_test_cluster::begin_migration(std::uint16_t slot, std::size_t to)
{
    const auto from = master_of(slot);
    const auto s = std::to_string(slot);
    auto& src = *nodes_[from];
    auto& dst = *nodes_[to];
    dst.command({"CLUSTER", "SETSLOT", s, "IMPORTING", ids_[from]});
    src.command({"CLUSTER", "SETSLOT", s, "MIGRATING", ids_[to]});
    while (true) {
        std::istringstream lines(src.command({"CLUSTER", "GETKEYSINSLOT", s, "100"}));
        std::vector<std::string> args{"MIGRATE", "127.0.0.1", std::to_string(dst.port()), "", "0",
                                      "5000",    "KEYS"};
        for (std::string k; std::getline(lines, k);)
            if (!k.empty())
                args.push_back(k);
        if (args.size() == 7)
            return;
        auto r = src.command(args);
        if (r != "OK" && r != "NOKEY")
            throw std::runtime_error("MIGRATE: " + r);
    }
}

void redis_test_cluster::end_migration(std::uint16_t slot, std::size_t to)
{
    const auto from = master_of(slot);
    const auto s = std::to_string(slot);
    nodes_[to]->command({"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
    nodes_[from]->command({"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
    for (std::size_t n = 0; n < size; ++n)
        if (n != from && n != to)
            nodes_[n]->command({"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
    if (!eventually([&] { return master_of(slot) == to; }, cluster_settle_limit))
        throw std::runtime_error("slot " + s + " did not move");
}

std::string redis_test_cluster::command(const std::string& key,
                                        const std::vector<std::string>& args) const
{
    return nodes_[master_of(redis::key_slot(key))]->command(args);
}

} // namespace mailroom::test
