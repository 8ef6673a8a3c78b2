#include <mailroom/redis/crawlab_message.hpp>
// Test that header file is self-contained.

// Crawlab mode of the Redis transport against a real redis-server. The peer is Crawlab's
// protocol spoken with plain redis-cli commands, run as child processes: LPUSH a JSON message
// onto `<prefix>:<node>`, BRPOP the reply from `<prefix>:<node>:<id>` (a caller), or BRPOP the
// request and LPUSH the reply (a node). No mailroom code runs on that side.

#include "redis/redis_server.hpp"

#include "support/eventually.hpp"
#include "support/log_capture.hpp"
#include "support/wait.hpp"

#include <mailroom/client.hpp>
#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/transport.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using mailroom::test::redis_server;
using mailroom::test::wait;
namespace asio = boost::asio;
namespace crawlab = mailroom::redis::crawlab;
using params = std::map<std::string, std::string>;
using call_result = std::tuple<std::error_code, std::string>;

call_result ok(std::string result) { return {std::error_code{}, std::move(result)}; }

/// The outcome of a call made in place.
call_result settle(std::future<call_result> f) { return wait(f); }

/// Runs `redis-cli -p <port> args...` as a child process; its standard output. redis-cli
/// writes raw replies when its output is not a terminal: one line per element.
std::string redis_cli(const redis_server& r, const std::vector<std::string>& args)
{
    std::vector<std::string> all{"redis-cli", "-p", std::to_string(r.port())};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (::pipe(out) != 0)
        throw std::runtime_error("pipe");
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::close(out[0]);
        ::close(out[1]);
        ::execvp("redis-cli", argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("redis-cli failed: " + text);
    return text;
}

/// `BRPOP key 10` with redis-cli: the popped value, or nothing after 10 s.
std::optional<std::string> brpop(const redis_server& r, const std::string& key)
{
    auto text = redis_cli(r, {"BRPOP", key, "10"});
    if (text.rfind(key + "\n", 0) != 0)
        return std::nullopt;
    text.erase(0, key.size() + 1);
    if (!text.empty() && text.back() == '\n')
        text.pop_back();
    return text;
}

/// A Crawlab request as Crawlab's Go client marshals it.
std::string request(const std::string& id, const std::string& method, const params& p = {},
                    const std::string& node = "node-1")
{
    return nlohmann::json{{"id", id},         {"method", method}, {"node_id", node},
                          {"params", p},      {"timeout", 5},     {"result", ""},
                          {"error", ""}}
        .dump();
}

/// I/O threads, and a mailroom node served in Crawlab mode.
struct crawlab_node {
    explicit crawlab_node(const redis_server& r, std::string prefix = "rpc",
                          std::string node_id = "node-1")
        : work(ioc.get_executor())
    {
        srv.emplace(ioc.get_executor(),
                    mailroom::server_options{.server_id = node_id,
                                             .log = {.min_level = mailroom::log_level::off}});
        auto& d = srv->get_dispatcher();
        d.add("crawlab", "Join", [](params p) { return p["a"] + p["b"]; });
        d.add("crawlab", "Fail",
              [](params) -> std::string { throw std::runtime_error("disk full"); });
        d.add("spider", "Count", [](params p) { return std::to_string(p.size()); });
        auto acc = mailroom::redis::make_acceptor(
            ioc.get_executor(),
            {.url = r.url(), .node_id = node_id, .reply_ttl = 30s, .max_backoff = 200ms,
             .log = log.logger(), .format = mailroom::redis::wire_format::crawlab,
             .crawlab = {.prefix = std::move(prefix)}});
        EXPECT_FALSE(srv->listen(acc, mailroom::redis::protocol()));
        thread = std::thread([this] { ioc.run(); });
    }
    ~crawlab_node()
    {
        srv->stop();
        work.reset();
        thread.join();
    }

    mailroom::test::log_capture log;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::optional<mailroom::server> srv;
    std::thread thread;
};

/// A reply read back as JSON.
nlohmann::json answer(const redis_server& r, const std::string& key)
{
    auto text = brpop(r, key);
    EXPECT_TRUE(text) << "no reply on " << key;
    return text ? nlohmann::json::parse(*text) : nlohmann::json();
}

TEST(RedisCrawlab, AServedNodeAnswersACrawlabCallerOnTheReplyKey)
{
    redis_server redis;
    crawlab_node node(redis);
    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-1", "Join", {{"a", "x"}, {"b", "y"}})});
    auto reply = answer(redis, "rpc:node-1:m-1");
    EXPECT_EQ(reply["id"], "m-1");
    EXPECT_EQ(reply["method"], "Join");
    EXPECT_EQ(reply["node_id"], "node-1");
    EXPECT_EQ(reply["params"], (nlohmann::json{{"a", "x"}, {"b", "y"}}));
    EXPECT_EQ(reply["result"], "xy");
    EXPECT_EQ(reply["error"], "");

    // A dotted name names a service of its own.
    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-2", "spider.Count", {{"k", "v"}})});
    EXPECT_EQ(answer(redis, "rpc:node-1:m-2")["result"], "1");
}

TEST(RedisCrawlab, ABurstOfRequestsIsTakenInBatchesAndEveryOneAnswered)
{
    redis_server redis;
    crawlab_node node(redis);
    std::vector<std::string> push{"LPUSH", "rpc:node-1"};
    constexpr int n = 150; // more than one RPOP batch of 64
    for (int i = 0; i < n; ++i)
        push.push_back(request("b-" + std::to_string(i), "Join", {{"a", std::to_string(i)}}));
    redis_cli(redis, push);
    for (int i = 0; i < n; ++i)
        EXPECT_EQ(answer(redis, "rpc:node-1:b-" + std::to_string(i))["result"], std::to_string(i));
}

TEST(RedisCrawlab, ReplyKeysGetATimeToLive)
{
    redis_server redis;
    crawlab_node node(redis);
    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-ttl", "Join")});
    ASSERT_TRUE(mailroom::test::eventually(
        [&] { return redis.command({"EXISTS", "rpc:node-1:m-ttl"}) == "1"; }));
    const auto ttl = std::stoll(redis.command({"PTTL", "rpc:node-1:m-ttl"}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 30'000) << "the acceptor's reply_ttl";
}

TEST(RedisCrawlab, ErrorsAndUnknownMethodsAreAnsweredInTheErrorField)
{
    redis_server redis;
    crawlab_node node(redis);
    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-1", "Fail")});
    auto failed = answer(redis, "rpc:node-1:m-1");
    EXPECT_EQ(failed["result"], "");
    EXPECT_NE(failed["error"].get<std::string>().find("disk full"), std::string::npos)
        << failed.dump();

    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-2", "NoSuchMethod")});
    auto unknown = answer(redis, "rpc:node-1:m-2");
    EXPECT_NE(unknown["error"].get<std::string>(), "");

    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-3", "a..b")});
    EXPECT_EQ(answer(redis, "rpc:node-1:m-3")["error"], "unknown method 'a..b'");
}

TEST(RedisCrawlab, MalformedEntriesAreDroppedOrAnsweredWhenTheirIdCanBeRead)
{
    redis_server redis;
    crawlab_node node(redis);
    redis_cli(redis, {"LPUSH", "rpc:node-1", "not json at all"});
    EXPECT_TRUE(node.log.wait_for("dropped: no id to answer"));
    redis_cli(redis, {"LPUSH", "rpc:node-1",
                      R"({"id":"m-1","method":"Join","params":{"a":1}})"});
    EXPECT_EQ(answer(redis, "rpc:node-1:m-1")["error"],
              "malformed request: params.a is not a string");
    // The node still serves.
    redis_cli(redis, {"LPUSH", "rpc:node-1", request("m-2", "Join", {{"a", "ok"}})});
    EXPECT_EQ(answer(redis, "rpc:node-1:m-2")["result"], "ok");
}

TEST(RedisCrawlab, TheKeyPrefixIsAnOption)
{
    redis_server redis;
    crawlab_node node(redis, "nodes");
    redis_cli(redis, {"LPUSH", "nodes:node-1", request("m-1", "Join", {{"a", "n"}})});
    EXPECT_EQ(answer(redis, "nodes:node-1:m-1")["result"], "n");
}

/// A mailroom caller in Crawlab mode, and the node's side done by hand with redis-cli.
struct crawlab_caller {
    explicit crawlab_caller(const redis_server& r,
                            std::map<std::string, std::string, std::less<>> entry_options = {},
                            std::size_t max_in_flight = 1024)
        : redis(r), work(ioc.get_executor())
    {
        station.emplace(ioc.get_executor(),
                        mailroom::mail_station_options{.log = {.min_level = mailroom::log_level::off}});
        // Crawlab mode for every entry without "redis_format", unless the entry says native.
        mailroom::redis::client_options o{.default_url = r.url(), .max_backoff = 200ms,
                                          .crawlab = {.max_in_flight = max_in_flight}};
        if (entry_options.empty())
            o.format = mailroom::redis::wire_format::crawlab;
        station->add_transport("redis", mailroom::redis::make_mailbox_factory(o),
                               mailroom::redis::protocol());
        station->add_server({.id = "node-2", .server_type = "node", .transport = "redis",
                             .options = std::move(entry_options)});
        rpc.emplace(*station, routes);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }
    ~crawlab_caller()
    {
        station->close();
        work.reset();
        for (auto& t : threads)
            t.join();
    }

    template <class Args>
    std::future<call_result> call(std::string method, const Args& args,
                                  std::chrono::milliseconds timeout = 20s)
    {
        return rpc->async_call<std::string>(
            {.server_type = "node", .service = "crawlab", .method = method}, "k", args,
            mailroom::call_options{.timeout = timeout}, asio::use_future);
    }

    /// The node's side: takes one request from `list` with redis-cli.
    nlohmann::json take(const std::string& list = "rpc:node-2")
    {
        auto text = brpop(redis, list);
        EXPECT_TRUE(text) << "no request on " << list;
        return text ? nlohmann::json::parse(*text) : nlohmann::json();
    }

    /// The node's side: answers `req` with redis-cli, as Crawlab's node does.
    void reply(nlohmann::json req, std::string result, std::string error = "",
               const std::string& prefix = "rpc")
    {
        req["result"] = std::move(result);
        req["error"] = std::move(error);
        redis_cli(redis, {"LPUSH", prefix + ":node-2:" + req["id"].get<std::string>(), req.dump()});
    }

    const redis_server& redis;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::vector<std::thread> threads;
    std::optional<mailroom::mail_station> station;
    mailroom::router routes;
    std::optional<mailroom::proxy> rpc;
};

TEST(RedisCrawlab, ACallerSendsExactlyCrawlabsMessageAndTakesTheReply)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto call = c.call("GetSystemInfo", std::tuple{params{{"lang", "go"}}}, 7500ms);
    auto req = c.take();
    std::set<std::string> fields;
    for (auto& [k, v] : req.items())
        fields.insert(k);
    EXPECT_EQ(fields, (std::set<std::string>{"id", "method", "node_id", "params", "timeout",
                                             "result", "error"}));
    EXPECT_EQ(req["method"], "GetSystemInfo") << "a method of service `crawlab` goes bare";
    EXPECT_EQ(req["node_id"], "node-2");
    EXPECT_EQ(req["params"], (nlohmann::json{{"lang", "go"}}));
    EXPECT_TRUE(req["timeout"].is_number_integer());
    EXPECT_EQ(req["timeout"], 8) << "whole seconds, rounded up";
    EXPECT_EQ(req["result"], "");
    EXPECT_EQ(req["error"], "");
    EXPECT_EQ(req["id"].get<std::string>().size(), 36u) << "a UUID";
    c.reply(req, "linux");
    EXPECT_EQ(wait(call), ok("linux"));
}

TEST(RedisCrawlab, AnErrorReplyFailsTheCallWithRemoteError)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto call = c.call("InstallPlugin", std::tuple{params{}});
    c.reply(c.take(), "", "plugin not found");
    EXPECT_EQ(std::get<0>(wait(call)), mailroom::error::remote_error);
}

TEST(RedisCrawlab, ACallNobodyAnswersTimesOut)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto call = c.call("CancelTask", std::tuple{params{{"id", "1"}}}, 300ms);
    EXPECT_EQ(std::get<0>(wait(call)), mailroom::error::timeout);
    EXPECT_TRUE(mailroom::test::eventually([&] { return redis.command({"LLEN", "rpc:node-2"}) == "1"; }))
        << "it was sent";
}

TEST(RedisCrawlab, OtherSignaturesAreRefusedBeforeSending)
{
    redis_server redis;
    crawlab_caller c(redis);
    EXPECT_EQ(std::get<0>(settle(c.call("Add", std::tuple{1, 2}))), mailroom::error::not_encodable);
    EXPECT_EQ(std::get<0>(settle(c.call("Map", std::tuple{std::map<std::string, int>{{"a", 1}}}))),
              mailroom::error::not_encodable);
    EXPECT_EQ(redis.command({"LLEN", "rpc:node-2"}), "0") << "nothing reached Redis";
    // No argument at all is empty params.
    auto call = c.call("Ping", std::tuple{});
    auto req = c.take();
    EXPECT_EQ(req["params"], nlohmann::json::object());
    c.reply(req, "pong");
    EXPECT_EQ(wait(call), ok("pong"));
}

TEST(RedisCrawlab, ManyCallsInFlightShareOneReaderAndEachGetsItsOwnReply)
{
    redis_server redis;
    crawlab_caller c(redis);
    constexpr int n = 40;
    std::vector<std::future<call_result>> calls;
    for (int i = 0; i < n; ++i)
        calls.push_back(c.call("Echo", std::tuple{params{{"i", std::to_string(i)}}}));
    std::vector<nlohmann::json> reqs;
    for (int i = 0; i < n; ++i)
        reqs.push_back(c.take());
    // Answered newest first: each reply key is watched whatever the order.
    for (auto it = reqs.rbegin(); it != reqs.rend(); ++it)
        c.reply(*it, "r" + (*it)["params"]["i"].get<std::string>());
    for (int i = 0; i < n; ++i)
        EXPECT_EQ(wait(calls[i]), ok("r" + std::to_string(i)));
    // Two connections of the caller, and the one asking (redis-cli's leave when they exit).
    EXPECT_TRUE(mailroom::test::eventually([&] {
        return redis.command({"INFO", "clients"}).find("connected_clients:3\r") != std::string::npos;
    })) << redis.command({"CLIENT", "LIST"});
}

TEST(RedisCrawlab, CallsBeyondTheInFlightBoundFailWithQueueFull)
{
    redis_server redis;
    crawlab_caller c(redis, {}, 2);
    auto first = c.call("A", std::tuple{params{}});
    auto second = c.call("B", std::tuple{params{}});
    auto a = c.take();
    auto b = c.take(); // both are in Redis, so both are in flight
    EXPECT_EQ(std::get<0>(settle(c.call("C", std::tuple{params{}}))), mailroom::error::queue_full);
    c.reply(a, "a");
    c.reply(b, "b");
    EXPECT_EQ(wait(first), ok(a["method"] == "A" ? "a" : "b"));
    EXPECT_EQ(wait(second), ok(b["method"] == "B" ? "b" : "a"));
    auto third = c.call("C", std::tuple{params{}});
    c.reply(c.take(), "c");
    EXPECT_EQ(wait(third), ok("c")) << "room again once the replies came";
}

TEST(RedisCrawlab, AServerEntrySelectsTheFormatAndThePrefix)
{
    redis_server redis;
    crawlab_caller c(redis, {{"redis_format", "crawlab"}, {"redis_prefix", "nodes"}});
    auto call = c.call("GetSystemInfo", std::tuple{params{}});
    auto req = c.take("nodes:node-2");
    EXPECT_EQ(req["method"], "GetSystemInfo");
    c.reply(req, "from nodes", "", "nodes");
    EXPECT_EQ(wait(call), ok("from nodes"));
}

TEST(RedisCrawlab, AMailroomCallerAndAMailroomNodeTalkInCrawlabMode)
{
    redis_server redis;
    crawlab_node node(redis);
    crawlab_caller c(redis, {{"redis_format", "crawlab"}, {"redis_node", "node-1"}});
    EXPECT_EQ(settle(c.call("Join", std::tuple{params{{"a", "1"}, {"b", "2"}}})),
              ok("12"));
    EXPECT_EQ(std::get<0>(settle(c.call("Fail", std::tuple{params{}}))),
              mailroom::error::remote_error);
}

TEST(RedisCrawlab, AMalformedReplyFailsTheCallWithProtocolError)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto call = c.call("GetSystemInfo", std::tuple{params{}});
    auto req = c.take();
    redis_cli(redis, {"LPUSH", "rpc:node-2:" + req["id"].get<std::string>(), "{not json"});
    EXPECT_EQ(std::get<0>(wait(call)), mailroom::error::protocol_error);
}

TEST(RedisCrawlab, ANotifyIsSentAndItsReplyIsTakenAndDropped)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto sent = c.rpc->async_notify({.server_type = "node", .service = "crawlab", .method = "Log"},
                                    "k", std::tuple{params{{"line", "hello"}}}, asio::use_future);
    EXPECT_FALSE(wait(sent));
    auto req = c.take();
    EXPECT_EQ(req["method"], "Log");
    EXPECT_EQ(req["params"]["line"], "hello");
    const auto key = "rpc:node-2:" + req["id"].get<std::string>();
    c.reply(req, "ignored");
    EXPECT_TRUE(mailroom::test::eventually([&] { return redis.command({"EXISTS", key}) == "0"; }))
        << "the caller took the reply nobody waits for, so it does not stay in Redis";
}

TEST(RedisCrawlab, RedisDownFailsCallsWithANamedErrorAndTheyWorkAgainOnceItIsBack)
{
    redis_server redis;
    crawlab_caller c(redis);
    auto in_flight = c.call("Unanswered", std::tuple{params{}}, 20s);
    ASSERT_TRUE(mailroom::test::eventually([&] { return redis.command({"LLEN", "rpc:node-2"}) == "1"; }));
    redis.stop();
    const auto ec = std::get<0>(wait(in_flight));
    EXPECT_EQ(ec, mailroom::error::disconnected) << ec.category().name() << ": " << ec.message();
    for (int i = 0; i < 3; ++i) {
        auto e = std::get<0>(settle(c.call("Join", std::tuple{params{}}, 20s)));
        EXPECT_TRUE(e == mailroom::redis::error::unreachable || e == mailroom::error::connect_failed ||
                    e == mailroom::error::disconnected)
            << e.category().name() << ": " << e.message();
    }

    redis.restart();
    crawlab_node node(redis, "rpc", "node-2");
    std::error_code last = mailroom::redis::error::unreachable;
    EXPECT_TRUE(mailroom::test::eventually([&] {
        auto [e, v] = settle(c.call("Join", std::tuple{params{{"a", "back"}}}, 2s));
        last = e;
        return !e && v == "back";
    })) << "the caller reconnects: " << last.message();
}

TEST(RedisCrawlab, AnUnknownFormatInAServerEntryFailsItsCallsWithANamedError)
{
    redis_server redis;
    crawlab_caller c(redis, {{"redis_format", "celery"}});
    const auto start = std::chrono::steady_clock::now();
    const auto ec = std::get<0>(settle(c.call("X", std::tuple{params{}})));
    EXPECT_TRUE(ec == mailroom::redis::error::bad_option || ec == mailroom::error::connect_failed)
        << ec.category().name() << ": " << ec.message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "a permanent error: not retried";
}

TEST(RedisCrawlab, AnAppServerEntrySelectsCrawlabModeForItsAcceptor)
{
    redis_server redis;
    auto t = mailroom::redis::make_transport({.default_url = redis.url()});
    asio::io_context ioc;
    EXPECT_THROW(t.acceptor(ioc.get_executor(),
                            {.id = "node-1", .transport = "redis",
                             .options = {{"redis_format", "celery"}}}),
                 std::invalid_argument);
    auto acc = t.acceptor(ioc.get_executor(),
                          {.id = "node-1", .transport = "redis",
                           .options = {{"redis_format", "crawlab"}, {"redis_prefix", "nodes"}}});
    mailroom::server srv(ioc.get_executor(),
                         {.server_id = "node-1", .log = {.min_level = mailroom::log_level::off}});
    srv.get_dispatcher().add("crawlab", "Hello", [](params) { return std::string("hi"); });
    ASSERT_FALSE(srv.listen(acc, t.protocol));
    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    redis_cli(redis, {"LPUSH", "nodes:node-1", request("m-1", "Hello")});
    EXPECT_EQ(answer(redis, "nodes:node-1:m-1")["result"], "hi");
    srv.stop();
    work.reset();
    io.join();
}

// --- the message, without Redis --------------------------------------------------------------

TEST(RedisCrawlabMessage, RoundTripsAndReadsWhatCrawlabLeavesOut)
{
    crawlab::message m{.id = "i", .method = "M", .node_id = "n", .params = {{"k", "v"}},
                       .timeout = 3, .result = "r", .error = "e"};
    crawlab::message back;
    EXPECT_EQ(crawlab::decode(crawlab::encode(m), back), "");
    EXPECT_EQ(back.id, "i");
    EXPECT_EQ(back.params, m.params);
    EXPECT_EQ(back.timeout, 3);
    EXPECT_EQ(back.result, "r");
    EXPECT_EQ(back.error, "e");
    EXPECT_EQ(crawlab::decode(R"({"id":"x","method":"M"})", back), "");
    EXPECT_TRUE(back.params.empty());
    EXPECT_EQ(crawlab::decode(R"({"id":"x","method":"M","timeout":"5"})", back),
              "timeout is not a number");
    EXPECT_EQ(back.id, "x") << "the id is read even when the rest is malformed";
    EXPECT_NE(crawlab::decode("[1]", back), "");
    EXPECT_EQ(back.id, "");
    // Timeouts: truncated, clamped, never a conversion out of range.
    const std::pair<const char*, std::int64_t> timeouts[] = {
        {"2.9", 2}, {"-3", 0}, {"-1e300", 0}, {"1e300", crawlab::max_timeout},
        {"18446744073709551615", crawlab::max_timeout}, {"null", 0}};
    for (auto [text, expected] : timeouts) {
        EXPECT_EQ(crawlab::decode(std::string(R"({"id":"x","method":"M","timeout":)") + text + "}",
                                  back),
                  "")
            << text;
        EXPECT_EQ(back.timeout, expected) << text;
    }
}

TEST(RedisCrawlabMessage, MethodNamesMapOntoRemotesBothWays)
{
    auto p = crawlab::to_path("GetSystemInfo", "crawlab");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->ns, "user");
    EXPECT_EQ(p->service, "crawlab");
    EXPECT_EQ(p->method, "GetSystemInfo");
    p = crawlab::to_path("spider.Run", "crawlab");
    EXPECT_EQ(p->service, "spider");
    p = crawlab::to_path("sys.spider.Run", "crawlab");
    EXPECT_EQ(p->ns, "sys");
    for (auto bad : {"", ".", "a.", ".a", "a.b.c.d"})
        EXPECT_FALSE(crawlab::to_path(bad, "crawlab")) << bad;
    EXPECT_FALSE(crawlab::to_path("Bare", ""));
    EXPECT_EQ(crawlab::to_method({.service = "crawlab", .method = "M"}, "crawlab"), "M");
    EXPECT_EQ(crawlab::to_method({.service = "spider", .method = "M"}, "crawlab"), "spider.M");
    EXPECT_EQ(crawlab::to_method({.ns = "sys", .service = "crawlab", .method = "M"}, "crawlab"),
              "sys.crawlab.M");
    EXPECT_EQ(crawlab::request_list("rpc", "n1"), "rpc:n1");
    EXPECT_EQ(crawlab::reply_key("nodes", "n1", "id"), "nodes:n1:id");
    const auto id = crawlab::make_message_id();
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_EQ(id[8], '-');
    EXPECT_NE(id, crawlab::make_message_id());
}

} // namespace
