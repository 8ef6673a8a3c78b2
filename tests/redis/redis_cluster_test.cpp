// The Redis transport against a Redis Cluster of three masters (redis_test_cluster.hpp): a
// caller and nodes whose slots sit on different masters, and slots that move while calls run.
#include <mailroom/client.hpp>
#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/slot.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "redis/redis_test_cluster.hpp"
#include "support/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using mailroom::test::eventually;
using mailroom::test::redis_test_cluster;
namespace asio = boost::asio;
using mailroom::redis::key_slot;

/// An id with `prefix` whose slot is served by master `master`.
std::string id_on(const redis_test_cluster& c, const std::string& prefix, std::size_t master)
{
    for (int i = 0;; ++i) {
        auto id = prefix + "-" + std::to_string(i);
        if (c.master_of(key_slot(id)) == master)
            return id;
    }
}

/// Every call's completions, counted per call, and a wait for all of them.
class tally
{
public:
    /// Registers a call; the returned handler records its completion.
    auto expect(int want)
    {
        std::lock_guard lock(mu_);
        const auto index = done_.size();
        done_.push_back(0);
        return [this, index, want](std::error_code ec, int got) {
            std::lock_guard lock(mu_);
            ++done_[index];
            if (ec || got != want)
                failures_.push_back(ec ? ec.message() : "got " + std::to_string(got));
            cv_.notify_all();
        };
    }

    /// Waits until every call completed once; then checks no call completed twice or failed.
    void wait_all()
    {
        std::unique_lock lock(mu_);
        const bool all = cv_.wait_for(lock, 60s, [&] {
            for (int d : done_)
                if (d == 0)
                    return false;
            return true;
        });
        ASSERT_TRUE(all) << "a call never completed";
        for (std::size_t i = 0; i < done_.size(); ++i)
            EXPECT_EQ(done_[i], 1) << "call " << i;
        EXPECT_TRUE(failures_.empty()) << failures_.front();
    }

    std::size_t size()
    {
        std::lock_guard lock(mu_);
        return done_.size();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<int> done_;
    std::vector<std::string> failures_;
};

/// I/O threads, a caller (station + proxy) on the cluster, and nodes of type == id.
struct harness
{
    harness(const redis_test_cluster& c, std::string caller_id, std::vector<std::string> node_ids)
        : cluster(c), caller(std::move(caller_id)), nodes(std::move(node_ids)),
          work(ioc.get_executor())
    {
        station.emplace(ioc.get_executor(), mailroom::mail_station_options{
                                                .log = {.min_level = mailroom::log_level::off}});
        station->add_transport(
            "redis",
            mailroom::redis::make_mailbox_factory(
                {.default_url = c.url(), .instance = caller, .max_backoff = 200ms}),
            mailroom::redis::protocol());
        for (auto& n : nodes) {
            station->add_server({.id = n, .server_type = n, .transport = "redis"});
            runs[n] = std::make_unique<std::atomic<int>>(0);
        }
        rpc.emplace(*station, routes);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
        for (auto& n : nodes)
            start(n);
    }
    ~harness()
    {
        station->close();
        for (auto& s : servers)
            s->stop();
        work.reset();
        for (auto& t : threads)
            t.join();
    }

    void start(const std::string& node)
    {
        auto& srv = servers.emplace_back(std::make_unique<mailroom::server>(
            ioc.get_executor(),
            mailroom::server_options{.server_id = node,
                                     .log = {.min_level = mailroom::log_level::off}}));
        srv->get_dispatcher().add("work", "add", [r = runs[node].get()](int a, int b) {
            ++*r;
            return a + b;
        });
        auto acc = mailroom::redis::make_acceptor(ioc.get_executor(),
                                                  {.url = cluster.url(),
                                                   .node_id = node,
                                                   .lease_ttl = 600ms,
                                                   .reply_ttl = 5000ms,
                                                   .max_backoff = 200ms,
                                                   .log = {.min_level = mailroom::log_level::off}});
        ASSERT_FALSE(srv->listen(acc, mailroom::redis::protocol()));
    }

    /// `count` calls of add(i, 1) to `node`.
    void call(tally& t, const std::string& node, int count)
    {
        for (int i = 0; i < count; ++i)
            rpc->async_call<int>({.server_type = node, .service = "work", .method = "add"}, "k",
                                 std::tuple{i, 1}, mailroom::call_options{.timeout = 30s},
                                 t.expect(i + 1));
    }

    /// The node's request and processing lists are empty: nothing waits, nothing is left
    /// half-done (the processing entry goes once the reply was pushed to another master).
    bool drained(const std::string& node)
    {
        const auto q = mailroom::redis::keys::request_list(node);
        return cluster.command(q, {"LLEN", q}) == "0" &&
               cluster.command(q, {"KEYS", mailroom::redis::keys::processing_prefix(node) + "*"})
                   .empty();
    }

    const redis_test_cluster& cluster;
    std::string caller;
    std::vector<std::string> nodes;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::vector<std::thread> threads;
    std::optional<mailroom::mail_station> station;
    mailroom::router routes;
    std::optional<mailroom::proxy> rpc;
    std::vector<std::unique_ptr<mailroom::server>> servers;
    std::map<std::string, std::unique_ptr<std::atomic<int>>> runs;
};

/// How many error replies starting with `prefix` (MOVED, ASK) the cluster's nodes sent
/// (INFO errorstats), and how many ASKING commands they ran.
long long redirections(redis_test_cluster& c, const std::string& prefix)
{
    long long n = 0;
    for (std::size_t i = 0; i < redis_test_cluster::size; ++i) {
        const auto info =
            c.node(i).command({"INFO", prefix == "ASKING" ? "commandstats" : "errorstats"});
        const auto key = prefix == "ASKING" ? std::string("cmdstat_asking:calls=")
                                            : "errorstat_" + prefix + ":count=";
        if (auto at = info.find(key); at != std::string::npos)
            n += std::stoll(info.substr(at + key.size()));
    }
    return n;
}

TEST(RedisCluster, CallsBetweenACallerAndNodesOnOtherMastersCompleteExactlyOnce)
{
    redis_test_cluster c;
    const auto caller = id_on(c, "caller", 0);
    const auto a = id_on(c, "node-a", 1);
    const auto b = id_on(c, "node-b", 2);
    ASSERT_EQ(c.master_of(key_slot(mailroom::redis::keys::reply_list(caller))), 0u);
    ASSERT_EQ(c.master_of(key_slot(mailroom::redis::keys::request_list(a))), 1u);
    ASSERT_EQ(c.master_of(key_slot(mailroom::redis::keys::request_list(b))), 2u);

    harness h(c, caller, {a, b});
    tally t;
    h.call(t, a, 200);
    h.call(t, b, 200);
    t.wait_all();
    EXPECT_EQ(h.runs[a]->load(), 200) << "each request ran once";
    EXPECT_EQ(h.runs[b]->load(), 200);
    EXPECT_TRUE(eventually([&] { return h.drained(a) && h.drained(b); }));
}

TEST(RedisCluster, CallsFollowANodesSlotAndTheCallersSlotToOtherMasters)
{
    redis_test_cluster c;
    const auto caller = id_on(c, "caller", 0);
    const auto node = id_on(c, "node", 1);
    harness h(c, caller, {node});
    int calls = 0;
    auto round = [&](int count) {
        tally t;
        h.call(t, node, count);
        t.wait_all();
        calls += count;
    };
    round(20);
    EXPECT_EQ(redirections(c, "MOVED"), 0);

    // Between calls: the node's slot (its BLMOVE gets MOVED, the caller's LPUSH too) ...
    c.move_slot(key_slot(node), 2);
    round(20);
    EXPECT_GT(redirections(c, "MOVED"), 0) << "the clients were redirected";
    // ... and the caller's reply slot (its BRPOP gets MOVED, the node's LPUSH too).
    c.move_slot(key_slot(caller), 1);
    round(20);

    // While calls run: the pushes see ASK during the migration and MOVED after it.
    tally t;
    h.call(t, node, 100);
    c.move_slot(key_slot(node), 0);
    h.call(t, node, 100);
    c.move_slot(key_slot(caller), 2);
    h.call(t, node, 100);
    t.wait_all();
    calls += 300;

    EXPECT_EQ(h.runs[node]->load(), calls) << "no request ran twice, none was lost";
    EXPECT_EQ(c.master_of(key_slot(node)), 0u);
    EXPECT_TRUE(eventually([&] { return h.drained(node); }));
}

TEST(RedisCluster, RequestsPushedDuringAMigrationFollowAskAndAreAnsweredOnceItEnds)
{
    redis_test_cluster c;
    const auto caller = id_on(c, "caller", 0);
    const auto node = id_on(c, "node", 1);
    harness h(c, caller, {node});
    {
        tally t;
        h.call(t, node, 10);
        t.wait_all();
    }
    const auto slot = key_slot(node);
    const auto asking_before = redirections(c, "ASKING");
    c.begin_migration(slot, 2);
    // The request list is empty (so not on the source): the source answers the caller's
    // LPUSH with ASK, and the requests wait on the target, which the node does not read yet.
    tally t;
    h.call(t, node, 50);
    // (The lease migrated with the slot; the request list exists only once a push made it.)
    const auto q = mailroom::redis::keys::request_list(node);
    EXPECT_TRUE(eventually([&] {
        return c.node(2)
                   .command({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"})
                   .find(q) != std::string::npos;
    })) << "the requests went to the importing node";
    EXPECT_GT(redirections(c, "ASKING"), asking_before);
    c.end_migration(slot, 2);
    // The node's BLMOVE is answered MOVED once the source no longer serves the slot; it
    // follows the slot and takes the requests.
    t.wait_all();
    EXPECT_EQ(h.runs[node]->load(), 60);
    EXPECT_TRUE(eventually([&] { return h.drained(node); }));
}

TEST(RedisCluster, ACallerWhoseSeedsDoNotAnswerOrWhoseUrlIsBadFailsCallsAtOnce)
{
    asio::io_context ioc;
    mailroom::mail_station station(
        ioc.get_executor(),
        {.connect_timeout = 20s, .log = {.min_level = mailroom::log_level::off}});
    const auto nobody = "redis+cluster://127.0.0.1:" + std::to_string(mailroom::test::free_port());
    station.add_transport("redis", mailroom::redis::make_mailbox_factory({.default_url = nobody}),
                          mailroom::redis::protocol());
    station.add_server({.id = "n", .server_type = "n", .transport = "redis"});
    station.add_server({.id = "bad",
                        .server_type = "bad",
                        .transport = "redis",
                        .options = {{"redis_url", "redis+cluster://127.0.0.1:1/2"}}});
    mailroom::router routes;
    mailroom::proxy rpc(station, routes);
    std::map<std::string, std::error_code> got;
    for (std::string type : {"n", "bad"})
        rpc.async_call<int>({.server_type = type, .service = "work", .method = "add"}, "k",
                            std::tuple{1, 2}, mailroom::call_options{.timeout = 20s},
                            [&got, type](std::error_code ec, int) { got[type] = ec; });
    const auto start = std::chrono::steady_clock::now();
    while (got.size() < 2 && ioc.run_one()) {
    }
    // The mail boxes' connects failed with redis::error::unreachable and bad_url, both
    // condition::permanent: the station fails the calls now, not after its 20 s.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "not after the timeouts";
    EXPECT_EQ(got["n"], mailroom::error::connect_failed) << got["n"].message();
    EXPECT_EQ(got["bad"], mailroom::error::connect_failed) << got["bad"].message();
    station.close();
    ioc.run_for(1s); // lets the station finish closing
}

} // namespace
