// Membership from the Redis registry, against real redis-server processes: members find each
// other, a clean leave is seen at once, a killed member leaves when its lease expires, a
// missed event is healed by the next resync, a stale incarnation cannot take its id back,
// and an App calls a server it knows only from the registry; and membership churn through
// the registry while three threads call.
#include "churn.hpp"
#include "redis/redis_server.hpp"
#include "support/eventually.hpp"
#include "support/log_capture.hpp"
#include "support/test_certificate.hpp"
#include "support/wait.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/redis/registry.hpp>
#include <mailroom/tcp/transport.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using mailroom::server_info;
using mailroom::test::redis_server;
namespace asio = boost::asio;

/// The tables a registry's listener got, and a way to wait for one that satisfies a test.
class table_log {
public:
    mailroom::registry::listener listener()
    {
        return [this](std::vector<server_info> members) {
            {
                std::lock_guard lock(mu_);
                latest_ = std::move(members);
                ++changes_;
            }
            cv_.notify_all();
        };
    }
    /// Waits (bounded as a safety net) until the latest table satisfies `pred`.
    bool wait_until(const std::function<bool(const std::vector<server_info>&)>& pred,
                    std::chrono::milliseconds limit = 30s)
    {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, limit, [&] { return pred(latest_); });
    }
    std::vector<server_info> latest() const
    {
        std::lock_guard lock(mu_);
        return latest_;
    }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<server_info> latest_;
    int changes_ = 0;
};

bool has(const std::vector<server_info>& t, std::string_view id)
{
    return std::any_of(t.begin(), t.end(), [&](const server_info& s) { return s.id == id; });
}

const server_info* find(const std::vector<server_info>& t, std::string_view id)
{
    for (const auto& s : t)
        if (s.id == id)
            return &s;
    return nullptr;
}

server_info member(std::string id, std::uint16_t port = 4000)
{
    return {.id = std::move(id), .server_type = "chat", .host = "127.0.0.1", .port = port};
}

/// I/O threads for registries. They return once what was stopped finished closing; a test
/// that failed before stopping its registries (their timers keep them busy) has them stopped
/// after a while instead of hanging.
struct io_threads {
    io_threads() : work(ioc.get_executor())
    {
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] {
                ioc.run();
                std::lock_guard lock(mu);
                ++finished;
                cv.notify_all();
            });
    }
    ~io_threads()
    {
        work.reset();
        {
            std::unique_lock lock(mu);
            if (!cv.wait_for(lock, 20s, [this] { return finished == threads.size(); }))
                ioc.stop();
        }
        for (auto& t : threads)
            t.join();
    }
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::mutex mu;
    std::condition_variable cv;
    std::size_t finished = 0;
    std::vector<std::thread> threads;
};

mailroom::redis::registry_options options(const redis_server& r, std::chrono::milliseconds ttl,
                                          std::chrono::milliseconds resync)
{
    return {.url = r.url(), .cluster = "test", .lease_ttl = ttl, .resync_period = resync,
            .log = {.min_level = mailroom::log_level::off}};
}

TEST(RedisRegistry, MembersFindEachOtherAndACleanLeaveIsSeenAtOnce)
{
    redis_server redis;
    // Before the I/O threads: they are joined, so no listener call is still running,
    // before the log is destroyed (stop() only posts the shutdown to the strand).
    table_log ta, tb;
    io_threads io;
    // Leases and resyncs far longer than the test: only the published events can explain
    // what the tables show.
    auto a = mailroom::redis::make_registry(options(redis, 60s, 60s));
    auto b = mailroom::redis::make_registry(options(redis, 60s, 60s));
    a->start(io.ioc.get_executor(), member("chat-a", 4001), ta.listener());
    b->start(io.ioc.get_executor(), member("chat-b", 4002), tb.listener());
    ASSERT_TRUE(ta.wait_until([](auto& t) { return has(t, "chat-a") && has(t, "chat-b"); }));
    ASSERT_TRUE(tb.wait_until([](auto& t) { return has(t, "chat-a") && has(t, "chat-b"); }));
    const auto table_a = ta.latest(); // find() points into it
    const auto* seen = find(table_a, "chat-b");
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->port, 4002);
    EXPECT_EQ(seen->server_type, "chat");
    EXPECT_EQ(seen->epoch, b->epoch());
    EXPECT_GT(b->epoch(), 0u);
    EXPECT_NE(a->epoch(), b->epoch()) << "epochs come from one counter";

    b->stop();
    EXPECT_TRUE(ta.wait_until([](auto& t) { return has(t, "chat-a") && !has(t, "chat-b"); }))
        << "a clean leave is published, not left to the 60 s lease";
    a->stop();
}

TEST(RedisRegistry, AMemberKilledWithSigkillLeavesWhenItsLeaseExpires)
{
    redis_server redis;
    constexpr auto ttl = 600ms;
    constexpr auto resync = 200ms;
    // The doomed member is another process, forked before this one starts any thread.
    const pid_t pid = ::fork();
    if (pid == 0) {
        asio::io_context ioc;
        auto r = mailroom::redis::make_registry(options(redis, ttl, resync));
        r->start(ioc.get_executor(), member("chat-doomed"), [](auto) {});
        auto work = asio::make_work_guard(ioc);
        ioc.run();
        ::_exit(0);
    }
    ASSERT_GT(pid, 0);
    table_log t;
    io_threads io;
    auto peer = mailroom::redis::make_registry(options(redis, ttl, resync));
    peer->start(io.ioc.get_executor(), member("chat-peer"), t.listener());
    ASSERT_TRUE(t.wait_until([](auto& m) { return has(m, "chat-doomed") && has(m, "chat-peer"); }));

    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(t.wait_until([](auto& m) { return !has(m, "chat-doomed"); }))
        << "the killed member's lease expired and it left the table";
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - killed);
    std::printf("a member killed with SIGKILL left the peer's table %lld ms later "
                "(lease %lld ms, resync %lld ms)\n",
                static_cast<long long>(took.count()), static_cast<long long>(ttl.count()),
                static_cast<long long>(resync.count()));
    EXPECT_TRUE(has(t.latest(), "chat-peer"));
    peer->stop();
}

TEST(RedisRegistry, AMissedEventIsHealedByTheNextResync)
{
    redis_server redis;
    table_log t;
    io_threads io;
    auto peer = mailroom::redis::make_registry(options(redis, 60s, 200ms));
    peer->start(io.ioc.get_executor(), member("chat-peer"), t.listener());
    ASSERT_TRUE(t.wait_until([](auto& m) { return has(m, "chat-peer"); }));
    // A member written without its event (as if the subscription had dropped it).
    redis.command({"HSET", "mailroom:reg:{test}:entries", "chat-silent",
                   R"({"id":"chat-silent","serverType":"chat","host":"127.0.0.1","port":4009,)"
                   R"("transport":"tcp","weight":3,"epoch":77,"options":{}})"});
    redis.command({"ZADD", "mailroom:reg:{test}:members", "99999999999999", "chat-silent"});
    ASSERT_TRUE(t.wait_until([](auto& m) { return has(m, "chat-silent"); }))
        << "the periodic resync found it";
    const auto table = t.latest(); // find() points into it
    const auto* s = find(table, "chat-silent");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->weight, 3);
    EXPECT_EQ(s->epoch, 77u);
    // And its removal without an event too.
    redis.command({"ZREM", "mailroom:reg:{test}:members", "chat-silent"});
    EXPECT_TRUE(t.wait_until([](auto& m) { return !has(m, "chat-silent"); }));
    peer->stop();
}

TEST(RedisRegistry, AStaleIncarnationCannotTakeItsIdBack)
{
    redis_server redis;
    table_log t;
    mailroom::test::log_capture old_log;
    io_threads io;
    auto old_opts = options(redis, 300ms, 100ms);
    old_opts.log = old_log.logger();
    auto old_incarnation = mailroom::redis::make_registry(old_opts);
    auto watcher = mailroom::redis::make_registry(options(redis, 60s, 100ms));
    watcher->start(io.ioc.get_executor(), std::nullopt, t.listener());
    old_incarnation->start(io.ioc.get_executor(), member("chat-1", 5001), [](auto) {});
    ASSERT_TRUE(t.wait_until([](auto& m) { return has(m, "chat-1"); }));
    const auto old_epoch = old_incarnation->epoch();

    // The server restarts on a new port while the old process still runs (paused, cut off,
    // then back): the new incarnation registers with a larger epoch.
    auto new_incarnation = mailroom::redis::make_registry(options(redis, 60s, 100ms));
    new_incarnation->start(io.ioc.get_executor(), member("chat-1", 5002), [](auto) {});
    ASSERT_TRUE(t.wait_until([](auto& m) {
        auto* s = find(m, "chat-1");
        return s && s->port == 5002;
    }));
    EXPECT_GT(new_incarnation->epoch(), old_epoch);
    // The old one renews every 100 ms: its next renewal is refused, and it says so.
    ASSERT_TRUE(old_log.wait_for("held by a newer incarnation"));
    const auto table = t.latest(); // find() points into it
    const auto* s = find(table, "chat-1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->port, 5002) << "the stale renewal did not replace the newer entry";
    EXPECT_EQ(s->epoch, new_incarnation->epoch());
    // The fenced incarnation sends no leave; the new one's leave removes the entry.
    old_incarnation->stop();
    new_incarnation->stop();
    EXPECT_TRUE(t.wait_until([](auto& m) { return !has(m, "chat-1"); }))
        << "the new incarnation's leave removes it";
    EXPECT_EQ(watcher->epoch(), 0u) << "a watcher without an entry has no epoch";
    watcher->stop();
}

/// A servers.json naming only `self`, on a free port.
std::filesystem::path write_config(const std::filesystem::path& dir, const std::string& id,
                                   std::uint16_t port)
{
    auto path = dir / (id + ".json");
    std::ofstream(path) << R"({"development": {"chat": [{"id": ")" << id
                        << R"(", "host": "127.0.0.1", "port": )" << port << "}]}}";
    return path;
}

TEST(RedisRegistry, AnAppCallsAServerItKnowsOnlyFromTheRegistryAndReloadsItsConfig)
{
    redis_server redis;
    const auto dir = mailroom::test::make_temp_dir("registry");
    auto make_app = [&](const std::string& id) {
        mailroom::app_options o;
        o.config = write_config(dir, id, mailroom::test::free_port());
        o.server_id = id;
        o.log.min_level = mailroom::log_level::off;
        o.station.log.min_level = mailroom::log_level::off;
        o.server.log.min_level = mailroom::log_level::off;
        o.registry = mailroom::redis::make_registry(options(redis, 60s, 200ms));
        auto app = std::make_unique<mailroom::basic_app>(std::move(o));
        app->add_transport("tcp", mailroom::tcp::make_transport());
        return app;
    };
    auto a = make_app("chat-a");
    auto b = make_app("chat-b");
    a->start();
    b->start();
    // The App's table follows Redis (another process): polled, as the redis tests poll lists.
    auto knows = [](mailroom::basic_app& app, std::string_view id) { return has(app.cluster(), id); };
    ASSERT_TRUE(mailroom::test::eventually([&] { return knows(*a, "chat-b"); }))
        << "chat-a learnt chat-b from the registry";
    auto ping = a->sys("chat-b").health.ping(asio::use_future);
    auto [ec, h] = mailroom::test::wait(ping);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(h.server_id, "chat-b");

    // servers.json gains a server at runtime: reload_config (also SIGHUP under run()).
    std::ofstream(a->options().config, std::ios::trunc)
        << R"({"development": {"chat": [{"id": "chat-a", "host": "127.0.0.1", "port": )"
        << a->self().port << R"(}, {"id": "chat-z", "host": "127.0.0.1", "port": 1}]}})";
    a->reload_config();
    EXPECT_TRUE(knows(*a, "chat-z"));
    EXPECT_TRUE(knows(*a, "chat-b")) << "the registry's servers stay";

    b->stop();
    b->wait();
    EXPECT_TRUE(mailroom::test::eventually([&] { return !knows(*a, "chat-b"); }))
        << "a stopped App left the registry";
    a->stop();
    a->wait();
    std::filesystem::remove_all(dir);
}

TEST(RedisRegistry, EveryCallCompletesOnceWhileServersJoinAndLeaveThroughTheRegistry)
{
    // Every server is an App that knows only itself from its servers.json: the caller learns
    // the others from the registry alone. Moving servers stop (a clean leave) and start again
    // as a new incarnation on a new port, one at a time, paced by the calls' progress and by
    // the caller learning each new incarnation, while three threads make 10,000 calls
    // through the caller.
    redis_server redis;
    const auto dir = mailroom::test::make_temp_dir("registry-churn");
    churn::echo_service svc;
    using churn_app = mailroom::app<churn::churn_rpc>;
    auto make_app = [&](const std::string& id, const std::string& type) {
        mailroom::app_options o;
        const auto path = dir / (id + ".json");
        std::ofstream(path, std::ios::trunc)
            << R"({"development": {")" << type << R"(": [{"id": ")" << id
            << R"(", "host": "127.0.0.1", "port": )" << mailroom::test::free_port() << "}]}}";
        o.config = path;
        o.server_id = id;
        o.grace = 200ms;
        o.log.min_level = mailroom::log_level::off;
        o.station.log.min_level = mailroom::log_level::off;
        o.station.drain_timeout = 100ms;
        o.station.connect_timeout = 200ms;
        o.station.probe_delay = 20ms;
        o.station.max_probe_delay = 100ms;
        o.server.log.min_level = mailroom::log_level::off;
        o.registry = mailroom::redis::make_registry(options(redis, 5s, 200ms));
        auto app = std::make_unique<churn_app>(std::move(o));
        app->add_transport("tcp", mailroom::tcp::make_transport());
        if (type != "gate")
            app->serve<churn::echo_remote>(svc);
        app->start();
        return app;
    };
    auto caller = make_app("gate-1", "gate");
    caller->routes().set("moving", mailroom::routes::round_robin());
    std::vector<std::unique_ptr<churn_app>> stable;
    for (const char* id : {"stable-1", "stable-2"})
        stable.push_back(make_app(id, "stable"));
    const std::vector<std::string> ids = {"moving-1", "moving-2", "moving-3"};
    std::vector<std::unique_ptr<churn_app>> moving;
    for (const auto& id : ids)
        moving.push_back(make_app(id, "moving"));
    ASSERT_TRUE(mailroom::test::eventually([&] { return caller->cluster().size() == 6; }))
        << "the caller learnt every server from the registry";

    constexpr std::size_t calls = 3 * 3334;
    constexpr std::size_t calls_per_restart = 500;
    churn::ledger book(calls);
    // Calls are faster than restarts: call i waits until i / calls_per_restart restarts are
    // done, so the changes are spread over the whole run (each restart in turn waits until
    // 250 more calls completed: neither side can wait for the other for ever).
    std::mutex pace_mu;
    std::condition_variable pace_cv;
    std::size_t restarts = 0;
    bool churn_over = false;
    auto restarted = [&](bool over) {
        std::lock_guard lock(pace_mu);
        restarts += !over;
        churn_over = churn_over || over;
        pace_cv.notify_all();
    };
    std::thread churner([&] {
        for (std::size_t round = 0;; ++round) {
            if (!book.wait_completed(round * calls_per_restart + 250, 60s) ||
                book.completed() == calls)
                break;
            auto& app = moving[round % moving.size()];
            const auto& id = ids[round % ids.size()];
            app->stop(); // leaves the registry first, then drains
            app->wait();
            app.reset();
            app = make_app(id, "moving"); // a new epoch, a new port
            // The next change waits until the caller knows this incarnation (a join takes
            // milliseconds; an App restarts faster than that, and restarting all three
            // before any rejoined would leave the type empty for a moment).
            const auto port = app->self().port;
            if (!mailroom::test::eventually([&] {
                    const auto t = caller->cluster();
                    const auto* s = find(t, id);
                    return s && s->port == port;
                }))
                break;
            restarted(false);
        }
        restarted(true);
    });

    churn::drive_calls(
        book,
        [&](const std::string& user, bool is_stable, int n, churn::echo_done done) {
            const mailroom::route_param key(user); // views `user`, alive for the call's start
            if (is_stable)
                caller->rpc.stable.echoRemote.echo(key, n, std::move(done));
            else
                caller->rpc.moving.echoRemote.echo(key, n, std::move(done));
        },
        [&](std::size_t call) {
            std::unique_lock lock(pace_mu);
            pace_cv.wait(lock, [&] { return churn_over || restarts >= call / calls_per_restart; });
        });
    const bool all = book.wait_all(60s);
    churner.join();

    ASSERT_TRUE(all) << "a call never completed";
    // As with direct changes (a port a stopped server freed may also be taken by another
    // server's next incarnation before the caller's table names the new one: wrong_server).
    churn::check_outcomes(book, "registry churn");
    EXPECT_EQ(restarts, calls / calls_per_restart) << "the changes ran through the calls";

    for (auto& a : moving)
        a->stop();
    for (auto& a : stable)
        a->stop();
    caller->stop();
    for (auto& a : moving)
        a->wait();
    for (auto& a : stable)
        a->wait();
    caller->wait();
    std::filesystem::remove_all(dir);
}

} // namespace
