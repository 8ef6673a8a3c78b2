// The Redis-queue transport against a real redis-server: what a queue adds to the
// conformance suite (conformance_redis_test.cpp). Deadlines that pass in the queue, reply
// TTLs, Redis going down and coming back, and a server process killed with calls in flight.
#include "redis/redis_server.hpp"

#include "support/eventually.hpp"
#include "support/wait.hpp"

#include <mailroom/client.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using mailroom::test::redis_server;
using mailroom::test::wait;
namespace asio = boost::asio;
using call_result = std::tuple<std::error_code, int>;

// The events here happen in Redis or in another process: eventually() polls them.
using mailroom::test::eventually;

/// I/O threads, a client (station + proxy) on the Redis transport, and servers on demand.
struct redis_cluster {
    explicit redis_cluster(const redis_server& r, mailroom::mail_station_options o = {})
        : redis(r), work(ioc.get_executor())
    {
        o.log.min_level = mailroom::log_level::off;
        station.emplace(ioc.get_executor(), o);
        station->add_transport("redis",
                               mailroom::redis::make_mailbox_factory(
                                   {.default_url = r.url(), .instance = "caller", .max_backoff = 200ms}),
                               mailroom::redis::protocol());
        station->add_server({.id = "work-1", .server_type = "work", .transport = "redis"});
        rpc.emplace(*station, routes);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }
    ~redis_cluster()
    {
        station->close();
        if (srv)
            srv->stop();
        work.reset();
        for (auto& t : threads)
            t.join();
    }

    void start_server(std::function<void(mailroom::dispatcher&)> bind, unsigned take_depth = 1)
    {
        srv.emplace(ioc.get_executor(), mailroom::server_options{
                                            .server_id = "work-1",
                                            .log = {.min_level = mailroom::log_level::off}});
        bind(srv->get_dispatcher());
        auto acc = mailroom::redis::make_acceptor(
            ioc.get_executor(), {.url = redis.url(), .node_id = "work-1", .lease_ttl = 600ms,
                                 .reply_ttl = 5000ms, .max_backoff = 200ms,
                                 .log = {.min_level = mailroom::log_level::off},
                                 .take_depth = take_depth});
        ASSERT_FALSE(srv->listen(acc, mailroom::redis::protocol()));
    }

    std::future<call_result> add(int a, int b, std::chrono::milliseconds timeout = 20s)
    {
        return rpc->async_call<int>({.server_type = "work", .service = "work", .method = "add"},
                                    "k", std::tuple{a, b}, mailroom::call_options{.timeout = timeout},
                                    asio::use_future);
    }

    const redis_server& redis;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::vector<std::thread> threads;
    std::optional<mailroom::mail_station> station;
    mailroom::router routes;
    std::optional<mailroom::proxy> rpc;
    std::optional<mailroom::server> srv;
};

void bind_add(mailroom::dispatcher& d, std::atomic<int>* runs = nullptr)
{
    d.add("work", "add", [runs](int a, int b) {
        if (runs)
            ++*runs;
        return a + b;
    });
}

long long length(const redis_server& r, const std::string& key)
{
    return std::stoll(r.command({"LLEN", key}));
}

TEST(RedisTransport, CallsWaitInRedisUntilTheNodeStartsAndAreAnsweredThen)
{
    redis_server redis;
    redis_cluster c(redis);
    std::vector<std::future<call_result>> calls;
    for (int i = 0; i < 20; ++i)
        calls.push_back(c.add(i, 1));
    ASSERT_TRUE(eventually([&] { return length(redis, mailroom::redis::keys::request_list("work-1")) == 20; }))
        << "the calls are queued in Redis while no server runs";
    for (auto& f : calls)
        EXPECT_NE(f.wait_for(0s), std::future_status::ready);
    c.start_server([](mailroom::dispatcher& d) { bind_add(d); });
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(wait(calls[i]), call_result(std::error_code{}, i + 1));
}

TEST(RedisTransport, ANodeKeepingSeveralTakesOutstandingRunsEveryRequestOnceAndAnswersIt)
{
    redis_server redis;
    redis_cluster c(redis);
    std::atomic<int> runs{0};
    c.start_server([&](mailroom::dispatcher& d) { bind_add(d, &runs); }, 8);
    std::vector<std::future<call_result>> calls;
    for (int i = 0; i < 200; ++i)
        calls.push_back(c.add(i, 1));
    for (int i = 0; i < 200; ++i)
        EXPECT_EQ(wait(calls[i]), call_result(std::error_code{}, i + 1));
    EXPECT_EQ(runs.load(), 200) << "each request taken once";
    EXPECT_EQ(length(redis, mailroom::redis::keys::request_list("work-1")), 0);
    EXPECT_TRUE(eventually([&] { return redis.command({"KEYS", "mailroom:{work-1}:p:*"}).empty(); }))
        << "every answered request left the processing list";
}

TEST(RedisTransport, ARequestWhoseDeadlinePassedInTheQueueIsNotRun)
{
    redis_server redis;
    redis_cluster c(redis);
    std::atomic<int> runs{0};
    auto expired = c.add(1, 2, 100ms);
    EXPECT_EQ(std::get<0>(wait(expired)), mailroom::error::timeout);
    EXPECT_EQ(length(redis, mailroom::redis::keys::request_list("work-1")), 1) << "still queued";
    c.start_server([&](mailroom::dispatcher& d) { bind_add(d, &runs); });
    auto fresh = c.add(20, 22);
    EXPECT_EQ(wait(fresh), call_result(std::error_code{}, 42)) << "taken after the expired one";
    EXPECT_EQ(runs.load(), 1) << "the expired request was dropped, not run";
    EXPECT_TRUE(eventually([&] { return redis.command({"KEYS", "mailroom:{work-1}:p:*"}).empty(); }))
        << "and removed from the processing list";
}

TEST(RedisTransport, RepliesNobodyReadsExpireWithTheirReplyList)
{
    redis_server redis;
    redis_cluster c(redis);
    c.start_server([](mailroom::dispatcher& d) { bind_add(d); });
    // A caller that died after queueing its call: nobody reads mailroom:{ghost}:r.
    mailroom::frame request;
    mailroom::protocol::encode_request(request, 1,
                                       {.server_type = "work", .service = "work", .method = "add"},
                                       std::tuple{1, 2});
    const auto ghost = mailroom::redis::keys::reply_list("ghost");
    redis.command({"LPUSH", mailroom::redis::keys::request_list("work-1"),
                   mailroom::redis::encode(mailroom::redis::request_envelope{
                       .reply_list = ghost, .deadline_ms = 0, .body = request.body()})});
    ASSERT_TRUE(eventually([&] { return length(redis, ghost) == 1; }));
    const auto ttl = std::stoll(redis.command({"PTTL", ghost}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 5000) << "the acceptor's reply_ttl";
    auto entry = redis.command({"LINDEX", ghost, "0"});
    auto reply = mailroom::redis::decode_reply(entry);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->node, "work-1");
}

TEST(RedisTransport, RedisDownFailsCallsFastWithANamedErrorAndTheyWorkAgainOnceItIsBack)
{
    redis_server redis;
    redis_cluster c(redis, {.connect_timeout = 20s, .reconnect_delay = 5ms});
    c.start_server([](mailroom::dispatcher& d) { bind_add(d); });
    auto first = c.add(1, 1);
    ASSERT_EQ(wait(first), call_result(std::error_code{}, 2));

    redis.stop();
    // The link's loss fails what was in flight; then connects fail at once (not after the
    // 20 s connect_timeout, nor the 20 s call timeout).
    std::error_code last;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) {
        auto f = c.add(2, 2);
        last = std::get<0>(wait(f));
        EXPECT_TRUE(last) << "Redis is down";
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << last.message();
    EXPECT_TRUE(last == mailroom::redis::error::unreachable ||
                last == mailroom::error::connect_failed ||
                last == mailroom::error::disconnected)
        << last.category().name() << ": " << last.message();

    redis.restart();
    std::error_code ec = mailroom::redis::error::unreachable;
    EXPECT_TRUE(eventually([&] {
        auto f = c.add(3, 4, 2s);
        auto [e, v] = wait(f);
        ec = e;
        return !e && v == 7;
    })) << "the transport reconnects (both halves): " << ec.message();
}

TEST(RedisTransport, UnreachableRedisIsAPermanentConnectError)
{
    const auto port = mailroom::test::free_port();
    asio::io_context ioc;
    mailroom::mail_station station(ioc.get_executor(),
                                   {.connect_timeout = 20s, .log = {.min_level = mailroom::log_level::off}});
    station.add_transport("redis",
                          mailroom::redis::make_mailbox_factory(
                              {.default_url = "redis://127.0.0.1:" + std::to_string(port)}),
                          mailroom::redis::protocol());
    station.add_server({.id = "work-1", .server_type = "work", .transport = "redis"});
    mailroom::router routes;
    mailroom::proxy rpc(station, routes);
    auto f = rpc.async_call<int>({.server_type = "work", .service = "work", .method = "add"}, "k",
                                 std::tuple{1, 2}, mailroom::call_options{.timeout = 20s},
                                 asio::use_future);
    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    // Not the 20 s of the connect timeout or of the call: the connect fails permanently.
    const bool fast = f.wait_for(5s) == std::future_status::ready;
    EXPECT_TRUE(fast);
    auto ec = fast ? std::get<0>(f.get()) : std::error_code{};
    EXPECT_TRUE(ec == mailroom::redis::error::unreachable || ec == mailroom::error::connect_failed)
        << ec.category().name() << ": " << ec.message();
    station.close();
    work.reset();
    io.join();
}

TEST(RedisTransport, WithAofQueuedRequestsSurviveARedisRestartAndRunWhenTheNodeComes)
{
    redis_server redis({"--appendonly", "yes"});
    redis_cluster c(redis);
    std::vector<std::future<call_result>> calls;
    for (int i = 0; i < 10; ++i)
        calls.push_back(c.add(i, 1));
    ASSERT_TRUE(eventually([&] { return length(redis, mailroom::redis::keys::request_list("work-1")) == 10; }));
    redis.restart();
    // The callers' link to Redis went down: their calls complete now, once, as disconnected
    // (they may still run: docs/redis-transport.md).
    for (auto& f : calls)
        EXPECT_EQ(std::get<0>(wait(f)), mailroom::error::disconnected);
    EXPECT_EQ(length(redis, mailroom::redis::keys::request_list("work-1")), 10) << "kept by the AOF";
    std::atomic<int> runs{0};
    c.start_server([&](mailroom::dispatcher& d) { bind_add(d, &runs); });
    EXPECT_TRUE(eventually([&] { return runs.load() == 10; })) << "the node ran every queued request";
    auto after = c.add(2, 3);
    EXPECT_EQ(wait(after), call_result(std::error_code{}, 5));
}

TEST(RedisTransport, RedisRestartedMidLoadWithAofCompletesEveryCallOnceAndLosesNoRequest)
{
    redis_server redis({"--appendonly", "yes"});
    redis_cluster c(redis, {.connect_timeout = 20s, .reconnect_delay = 5ms});
    std::mutex mu;
    std::set<int> ran;
    c.start_server([&](mailroom::dispatcher& d) {
        d.add("work", "add", [&](int a, int b) {
            std::lock_guard lock(mu);
            ran.insert(a);
            return a + b;
        });
    });
    // A closed loop of 50 calls in flight: each completion issues the next call, so calls
    // are being made, queued and answered while Redis goes away and comes back.
    constexpr int n = 1000, in_flight = 50;
    std::vector<std::atomic<int>> completions(n);
    std::atomic<int> next{0}, done{0}, ok{0};
    std::promise<void> all_done;
    std::mutex emu;
    std::set<std::string> errors;
    std::function<void()> issue = [&] {
        const int i = next++;
        if (i >= n)
            return;
        c.rpc->async_call<int>({.server_type = "work", .service = "work", .method = "add"}, "k",
                               std::tuple{i, 1000}, mailroom::call_options{.timeout = 30s},
                               [&, i](std::error_code ec, int v) {
                                   ++completions[i];
                                   if (!ec) {
                                       ok += (v == i + 1000);
                                   } else {
                                       std::lock_guard lock(emu);
                                       errors.insert(ec.message());
                                   }
                                   if (++done == n)
                                       all_done.set_value();
                                   issue();
                               });
    };
    for (int i = 0; i < in_flight; ++i)
        issue();
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(mu);
        return ran.size() >= 100;
    })) << "load is running";
    redis.restart(); // SIGTERM: the AOF is flushed; every queued request survives
    auto finished = all_done.get_future();
    wait(finished);
    for (int i = 0; i < n; ++i)
        EXPECT_EQ(completions[i].load(), 1) << "call " << i << " completes exactly once";
    for (const auto& e : errors)
        EXPECT_TRUE(e == make_error_code(mailroom::error::disconnected).message() ||
                    e == make_error_code(mailroom::redis::error::unreachable).message() ||
                    e == make_error_code(mailroom::error::connect_failed).message())
            << "a call that failed names the link to Redis: " << e;
    // Nothing stays behind: every request that reached Redis is taken and answered, before
    // or after the restart (the acceptor reconnects by itself).
    EXPECT_TRUE(eventually([&] {
        return length(redis, mailroom::redis::keys::request_list("work-1")) == 0 &&
               redis.command({"KEYS", "mailroom:{work-1}:p:*"}).empty();
    })) << "the request list and the processing list drain: "
        << length(redis, mailroom::redis::keys::request_list("work-1")) << " queued, processing "
        << redis.command({"KEYS", "mailroom:{work-1}:p:*"});
    {
        std::lock_guard lock(mu);
        EXPECT_GE(static_cast<int>(ran.size()), ok.load()) << "every answered call ran";
        EXPECT_GT(ok.load(), 0);
        std::printf("%d of %d calls answered, %d failed with an error of the link to Redis; "
                    "%zu requests ran\n", ok.load(), n, n - ok.load(), ran.size());
    }
    std::error_code ec;
    EXPECT_TRUE(eventually([&] {
        auto f = c.add(2, 3, 2s);
        auto [e, v] = wait(f);
        ec = e;
        return !e && v == 5;
    })) << "calls work again once the mail box's backoff ends: " << ec.message();
}

TEST(RedisTransport, MalformedAndOversizedEntriesAreDroppedWithoutHarmingOtherCallers)
{
    redis_server redis;
    redis_cluster c(redis);
    std::atomic<int> runs{0};
    c.start_server([&](mailroom::dispatcher& d) { bind_add(d, &runs); });
    const auto q = mailroom::redis::keys::request_list("work-1");
    mailroom::frame request;
    mailroom::protocol::encode_request(request, 1,
                                       {.server_type = "work", .service = "work", .method = "add"},
                                       std::tuple{1, 2});
    auto entry = [&](std::string reply_list, std::string_view body) {
        return mailroom::redis::encode(mailroom::redis::request_envelope{
            .reply_list = std::move(reply_list), .deadline_ms = 0, .body = body});
    };
    // What a hostile or broken writer of the queue can push: not an envelope at all, an
    // envelope whose body is not a message, one bigger than max_frame_size (8 MiB).
    redis.command({"LPUSH", q, "garbage"});
    redis.command({"LPUSH", q, entry(mailroom::redis::keys::reply_list("ghost"), "\xc1\xc1 not msgpack")});
    redis.command({"LPUSH", q, entry(mailroom::redis::keys::reply_list("huge"),
                                     std::string(9u << 20, 'x'))});
    auto fine = c.add(20, 22);
    EXPECT_EQ(wait(fine), call_result(std::error_code{}, 42)) << "another caller is served";
    EXPECT_EQ(runs.load(), 1) << "no dropped entry ran";
    EXPECT_TRUE(eventually([&] {
        return length(redis, q) == 0 && redis.command({"KEYS", "mailroom:{work-1}:p:*"}).empty();
    })) << "every entry left the request and the processing list";
    EXPECT_EQ(length(redis, mailroom::redis::keys::reply_list("huge")), 0) << "never answered";
}

/// A redis_test_server process.
struct node_process {
    node_process(const redis_server& r, const char* mode)
    {
        pid = ::fork();
        if (pid == 0) {
            const std::string url = r.url();
            ::execl(REDIS_TEST_SERVER, REDIS_TEST_SERVER, url.c_str(), "work-1", mode, "600",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    void kill9()
    {
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
    }
    ~node_process()
    {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    }
    pid_t pid = -1;
};

TEST(RedisTransport, CallsInFlightOnAKilledServerProcessAreRequeuedAndCompleteExactlyOnce)
{
    redis_server redis;
    redis_cluster c(redis);
    constexpr int n = 50;
    std::atomic<int> completions{0}, right{0};
    std::promise<void> all_done;
    for (int i = 0; i < n; ++i)
        c.rpc->async_call<int>({.server_type = "work", .service = "work", .method = "add"}, "k",
                               std::tuple{i, 1000}, mailroom::call_options{.timeout = 60s},
                               [&, i](std::error_code ec, int v) {
                                   right += (!ec && v == i + 1000);
                                   if (++completions == n)
                                       all_done.set_value();
                               });
    {
        node_process doomed(redis, "hang");
        ASSERT_TRUE(eventually([&] { return length(redis, "executions") == n; }))
            << "the first incarnation took every call (and answers none)";
        doomed.kill9();
    }
    EXPECT_EQ(completions.load(), 0);
    node_process next(redis, "serve");
    auto done = all_done.get_future();
    wait(done);
    EXPECT_EQ(right.load(), n) << "each call answered with its own result";
    EXPECT_EQ(completions.load(), n) << "each call completes exactly once";
    EXPECT_EQ(length(redis, "executions"), 2 * n) << "at-least-once: run by both incarnations";
    EXPECT_TRUE(eventually([&] { return redis.command({"KEYS", "mailroom:{work-1}:p:*"}).empty(); }))
        << "no processing list keeps an entry";
}

} // namespace
