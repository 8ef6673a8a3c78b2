// The `mailroom` binary against a live App: list, call (ok, bad arguments caught before
// sending, unknown method, a remote error), bench and status, through a generated servers.json.

#include <mailroom/app/app.hpp>
#include <mailroom/remote.hpp>
#include <mailroom/redis/registry.hpp>
#include <mailroom/tcp/transport.hpp>

#include "support/redis/redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace asio = boost::asio;

struct point {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE_MAP(x, y)
};

MAILROOM_REMOTE(calc_remote, calcRemote,
    (add, int(int a, int b))
    (scale, point(point p, double k))
    (fail, int(std::string why)));

struct calc_impl {
    std::atomic<int> adds{0};
    int add(int a, int b)
    {
        ++adds;
        return a + b;
    }
    point scale(point p, double k)
    {
        return {static_cast<int>(p.x * k), static_cast<int>(p.y * k)};
    }
    int fail(std::string why) { throw std::runtime_error(why); }
};

std::uint16_t free_port()
{
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

struct run_result {
    int rc = -1;
    std::string out, err;
};

std::string quoted(const std::string& s)
{
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

struct cli_fixture : ::testing::Test {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("mailroom-cli-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::path config = dir / "servers.json";
    calc_impl calc;
    std::optional<mailroom::app<>> app;
    /// Set by a test before SetUp's App starts: the App registers there.
    std::shared_ptr<mailroom::registry> registry;

    void SetUp() override { start(); }

    void start()
    {
        std::filesystem::create_directories(dir);
        std::ofstream(config) << R"({"development": {"calc": [{"id": "calc-1", "host": "127.0.0.1", "port": )"
                              << free_port() << "}]}}";
        mailroom::app_options o;
        o.config = config;
        o.server_id = "calc-1";
        o.log.min_level = mailroom::log_level::off;
        o.server.log.min_level = mailroom::log_level::off;
        o.station.log.min_level = mailroom::log_level::off;
        o.registry = registry;
        app.emplace(std::move(o));
        app->add_transport("tcp", mailroom::tcp::make_transport());
        app->serve<calc_remote>(calc);
        app->start(); // listening when it returns
    }

    void TearDown() override
    {
        if (app) {
            app->stop();
            app->wait();
        }
        std::filesystem::remove_all(dir);
    }

    run_result run(const std::vector<std::string>& args)
    {
        const auto err_file = dir / "stderr.txt";
        std::string cmd = quoted(MAILROOM_CLI_PATH);
        for (const auto& a : args)
            cmd += " " + quoted(a);
        cmd += " 2>" + quoted(err_file.string());
        run_result r;
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p)
            return r;
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
            r.out.append(buf, n);
        const int status = ::pclose(p);
        r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        std::ifstream in(err_file);
        std::stringstream ss;
        ss << in.rdbuf();
        r.err = ss.str();
        return r;
    }
};

TEST_F(cli_fixture, ListShowsServersStateAndSignatures)
{
    auto r = run({"list", config.string()});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("calc-1 (calc)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("calc.calcRemote.add"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("int(int a, int b)"), std::string::npos) << r.out;

    auto j = run({"list", config.string(), "--json"});
    ASSERT_EQ(j.rc, 0) << j.err;
    auto list = nlohmann::json::parse(j.out);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["state"], "up");
}

TEST_F(cli_fixture, ListExitsNotFoundWhenAServerIsDown)
{
    const auto two = dir / "two.json";
    std::ofstream(two) << R"({"development": {"calc": [{"id": "calc-1", "host": "127.0.0.1", "port": )"
                       << app->self().port << R"(}, {"id": "calc-2", "host": "127.0.0.1", "port": )"
                       << free_port() << "}]}}";
    auto r = run({"list", two.string(), "--timeout", "500ms"});
    EXPECT_EQ(r.rc, 4) << r.out << r.err;
    EXPECT_NE(r.out.find("calc-2 (calc)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("DOWN"), std::string::npos) << r.out;
}

TEST_F(cli_fixture, CallPrintsTheJsonResult)
{
    auto r = run({"call", config.string(), "calc.calcRemote.add", "[2, 3]"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "5\n");
    auto s = run({"call", config.string(), "calc.calcRemote.scale", R"([{"x": 1, "y": 2}, 3])",
                  "--to", "calc-1"});
    EXPECT_EQ(s.rc, 0) << s.err;
    EXPECT_EQ(nlohmann::json::parse(s.out), nlohmann::json::parse(R"({"x": 3, "y": 6})"));
}

TEST_F(cli_fixture, BadArgumentsAreRefusedBeforeAnythingIsSent)
{
    auto r = run({"call", config.string(), "calc.calcRemote.add", R"(["2", 3])"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.err.find("argument 1 (a)"), std::string::npos) << r.err;
    auto range = run({"call", config.string(), "calc.calcRemote.add", "[3000000000, 1]"});
    EXPECT_EQ(range.rc, 2);
    EXPECT_NE(range.err.find("-2147483648..2147483647"), std::string::npos) << range.err;
    auto count = run({"call", config.string(), "calc.calcRemote.add", "[1]"});
    EXPECT_EQ(count.rc, 2);
    auto json = run({"call", config.string(), "calc.calcRemote.add", "[1,"});
    EXPECT_EQ(json.rc, 2);
    EXPECT_EQ(calc.adds.load(), 0) << "no call reached the handler";
}

TEST_F(cli_fixture, UnknownMethodsServersAndTypesAreNotFound)
{
    auto m = run({"call", config.string(), "calc.calcRemote.mul", "[1, 2]"});
    EXPECT_EQ(m.rc, 4);
    EXPECT_NE(m.err.find("add"), std::string::npos) << "lists what the service has: " << m.err;
    EXPECT_EQ(run({"call", config.string(), "chess.calcRemote.add", "[1, 2]"}).rc, 4);
    EXPECT_EQ(run({"call", config.string(), "calc.calcRemote.add", "[1, 2]", "--to", "calc-9"}).rc, 4);
    EXPECT_EQ(run({"call", config.string(), "calcRemote.add", "[1, 2]"}).rc, 2);
}

TEST_F(cli_fixture, RemoteErrorsAreNamedWithTheRemotesMessage)
{
    auto r = run({"call", config.string(), "calc.calcRemote.fail", R"(["out of paper"])"});
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("remote_error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("out of paper"), std::string::npos) << r.err;
}

TEST_F(cli_fixture, UsageErrorsAndHelp)
{
    EXPECT_EQ(run({}).rc, 2);
    EXPECT_EQ(run({"frobnicate"}).rc, 2);
    for (const char* c : {"list", "call", "bench", "status"}) {
        auto h = run({c, "--help"});
        EXPECT_EQ(h.rc, 0) << c;
        EXPECT_NE(h.out.find(std::string("usage: mailroom ") + c), std::string::npos) << h.out;
    }
    EXPECT_EQ(run({"call", config.string(), "calc.calcRemote.add"}).rc, 2);
    EXPECT_EQ(run({"list", (dir / "missing.json").string()}).rc, 3);
}

TEST_F(cli_fixture, BenchRunsAClosedLoopAndSummarises)
{
    auto r = run({"bench", config.string(), "calc.calcRemote.add", "[1, 2]", "--inflight", "4",
                  "--duration", "1s", "--json"});
    ASSERT_EQ(r.rc, 0) << r.err;
    auto s = nlohmann::json::parse(r.out);
    EXPECT_GT(s["ok"].get<int>(), 0);
    EXPECT_EQ(s["errors"], 0);
    EXPECT_GT(s["p50_us"].get<double>(), 0);
    EXPECT_GE(s["p999_us"].get<double>(), s["p50_us"].get<double>());
    EXPECT_EQ(calc.adds.load(), s["ok"].get<int>()) << "every successful call ran once";
    EXPECT_NE(r.err.find("calls/s"), std::string::npos) << "a progress line: " << r.err;
}

TEST_F(cli_fixture, StatusShowsEveryServer)
{
    auto r = run({"status", config.string(), "--interval", "50ms"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("calc-1 (calc)"), std::string::npos) << r.out;
}

struct cli_registry_fixture : cli_fixture {
    std::optional<mailroom::test::redis_server> redis;

    void SetUp() override
    {
        try {
            redis.emplace();
        } catch (const std::exception& e) {
            GTEST_SKIP() << "no redis-server (Debian package redis-server): " << e.what();
        }
        registry = mailroom::redis::make_registry(
            {.url = redis->url(), .cluster = "cli-test",
             .log = {.min_level = mailroom::log_level::off}});
        start();
        // Registered once the App's entry is in the registry's hash (the event, polled).
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (redis->command({"HLEN", "mailroom:reg:{cli-test}:entries"}) != "1" &&
               std::chrono::steady_clock::now() < limit)
            std::this_thread::yield();
    }
};

TEST_F(cli_registry_fixture, ListsAndCallsTheServersOfARegistry)
{
    auto r = run({"list", redis->url(), "--cluster", "cli-test"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("calc-1 (calc)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("int(int a, int b)"), std::string::npos) << r.out;
    auto c = run({"call", redis->url(), "--cluster", "cli-test", "calc.calcRemote.add", "[4, 5]"});
    EXPECT_EQ(c.rc, 0) << c.err;
    EXPECT_EQ(c.out, "9\n");
    auto none = run({"list", redis->url(), "--cluster", "nobody-here"});
    EXPECT_EQ(none.rc, 0) << "an empty cluster lists nothing: " << none.err;
    EXPECT_EQ(none.out, "");
}

} // namespace
