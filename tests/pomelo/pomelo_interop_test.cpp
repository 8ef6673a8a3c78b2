// Stock pomelo-rpc 1.0.7 (Node, tests/interop/pomelo, pinned by its package-lock.json) against
// mailroom's pomelo transport, both ways, with and without bufferMsg on either side.
// Skipped with a message when node or the project's node_modules (`npm ci`) is missing.

#include "chat_fixture.hpp"
#include "node_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <tuple>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::node_process;
using mailroom::test::pomelo_client;
using nlohmann::json;

#define SKIP_WITHOUT_NODE()                                                                    \
    if (auto why = mailroom::test::pomelo_interop_missing(); !why.empty())                     \
    GTEST_SKIP() << why

std::string label(bool client_batch, bool server_batch)
{
    return std::string(client_batch ? "Buffered" : "Unbuffered") + "Client" +
           (server_batch ? "Buffered" : "Unbuffered") + "Server";
}

// --- a stock Node client calling the C++ server ------------------------------------------

class NodeClientCallsCppServer : public ::testing::TestWithParam<std::tuple<bool, bool>> {
protected:
    /// Runs client.js's `scenario` against a C++ chat server; its RESULT line, parsed.
    json run(const std::string& scenario)
    {
        auto& server = client_.start_server(std::get<1>(GetParam()));
        std::vector<std::string> args{"client.js", std::to_string(server.port()), scenario};
        if (std::get<0>(GetParam()))
            args.push_back("--bufferMsg");
        node_process node(args);
        auto line = node.wait_line("RESULT ", 90s);
        if (!line) {
            ADD_FAILURE() << "client.js " << scenario << " printed no result";
            return json::object();
        }
        return json::parse(*line);
    }

    /// The message a pomelo caller reads from `resp[0]` (empty when it is falsy).
    static std::string error_of(const json& resp)
    {
        if (!resp.is_array() || resp.empty() || resp[0].is_null())
            return {};
        const auto& e = resp[0];
        EXPECT_TRUE(e.is_object()) << resp;
        EXPECT_TRUE(e.contains("stack")) << "err.stack is what pomelo code logs: " << resp;
        const auto stack = e.value("stack", std::string());
        EXPECT_TRUE(stack.starts_with("Error: ")) << stack;
        return e.value("msg", std::string("(no msg)"));
    }

    pomelo_client client_;
};

TEST_P(NodeClientCallsCppServer, ValuesErrorsAndUnknownNames)
{
    SKIP_WITHOUT_NODE();
    const auto r = run("basic");
    EXPECT_EQ(r["string"], json::parse(R"([null,"hello, mailroom"])"));
    EXPECT_EQ(r["object"],
              json::parse(R"([null,{"name":"ann","level":4,"tags":["a","b"],"nested":{"ok":true}}])"));
    EXPECT_EQ(r["int64"], json::parse("[null,9007199254740991]"));
    EXPECT_EQ(r["negative"], json::parse("[null,-3]"));
    EXPECT_EQ(r["double"], json::parse("[null,3.375]"));
    EXPECT_EQ(r["pair"], json::parse(R"([null,"left",7])")) << "cb(null, a, b)";
    EXPECT_EQ(r["stats"], json::parse(R"([null,3,"open"])")) << "a struct's fields, spread";
    EXPECT_EQ(error_of(r["error"]), "the dragon ate it");
    EXPECT_EQ(error_of(r["badArgument"]), "argument 1 of 2: expected long int, got a string");
    EXPECT_EQ(error_of(r["unknownMethod"]), "unknown method: user.chatRemote.noSuchMethod");
    EXPECT_EQ(error_of(r["toString"]), "unknown method: user.chatRemote.toString");
    EXPECT_EQ(error_of(r["proto"]), "unknown method: user.chatRemote.__proto__");
    EXPECT_EQ(error_of(r["unknownService"]), "unknown service: user.nope");
    EXPECT_EQ(error_of(r["unknownNamespace"]), "unknown service: sys.chatRemote");
    EXPECT_NE(error_of(r["argsNotArray"]).find("expected an array"), std::string::npos)
        << r["argsNotArray"];
    EXPECT_EQ(r["large"], json::parse("[null,1572864]"));
    EXPECT_EQ(r["largeEcho"], json::parse("[null,1572864]"));
    EXPECT_EQ(r["afterNull"], json::parse(R"([null,"fire and forget"])"));
}

TEST_P(NodeClientCallsCppServer, EveryElementOfABatchIsAnswered)
{
    SKIP_WITHOUT_NODE();
    const auto all = run("batch")["all"];
    ASSERT_EQ(all.size(), 6u) << all;
    EXPECT_EQ(all[0], json::parse(R"([null,"a"])"));
    EXPECT_EQ(error_of(all[1]), "unknown method: user.chatRemote.noSuchMethod");
    EXPECT_NE(error_of(all[2]).find("expected an array"), std::string::npos);
    EXPECT_EQ(error_of(all[3]), "unknown method: user.chatRemote.constructor");
    EXPECT_FALSE(error_of(all[4]).empty());
    EXPECT_EQ(all[5], json::parse(R"([null,"b"])"));
}

TEST_P(NodeClientCallsCppServer, ABurstOfAThousandCalls)
{
    SKIP_WITHOUT_NODE();
    EXPECT_EQ(run("burst")["ok"], 1000);
}

TEST_P(NodeClientCallsCppServer, PingsAreAnswered)
{
    SKIP_WITHOUT_NODE();
    const auto r = run("keepalive");
    EXPECT_EQ(r["first"], json::parse(R"([null,"before"])"));
    EXPECT_EQ(r["second"], json::parse(R"([null,"after"])"));
    EXPECT_EQ(r["pongs"], true) << "the stock client saw PINGRESP";
    EXPECT_EQ(r["sameMailbox"], true) << "and kept its connection";
}

INSTANTIATE_TEST_SUITE_P(Interop, NodeClientCallsCppServer,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& i) {
                             return label(std::get<0>(i.param), std::get<1>(i.param));
                         });

// --- the C++ client calling a stock Node server ------------------------------------------

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"echo", mailroom::test::echo_remote> echo{*this};
};

const mailroom::protocol::method_path echo_path{.server_type = "echo", .service = "echoRemote"};

mailroom::protocol::method_path echo_method(std::string_view m)
{
    auto p = echo_path;
    p.method = m;
    return p;
}

/// echoRemote.pair's two results, as fields.
struct pair_result {
    std::string text;
    int number = 0;
    using pomelo_results = void;
    auto tie() { return std::tie(text, number); }
    auto tie() const { return std::tie(text, number); }
};

class CppClientCallsNodeServer : public ::testing::TestWithParam<std::tuple<bool, bool>> {
protected:
    void SetUp() override
    {
        if (!mailroom::test::pomelo_interop_missing().empty())
            return;
        std::vector<std::string> args{"server.js"};
        if (std::get<1>(GetParam()))
            args.push_back("--bufferMsg");
        node_.emplace(args);
        const auto port = node_->wait_line("PORT ", 30s);
        ASSERT_TRUE(port) << "server.js printed no port";
        client_.emplace(link_);
        client_->add_server("node-echo-1", "echo", static_cast<std::uint16_t>(std::stoi(*port)),
                            std::get<0>(GetParam()));
    }

    void TearDown() override
    {
        client_.reset(); // before the Node process goes: no call outlives its test
        node_.reset();
    }

    mailroom::pomelo::link_options link_{};
    std::optional<node_process> node_;
    std::optional<pomelo_client> client_;
};

TEST_P(CppClientCallsNodeServer, TypedStubsAndDynamicCalls)
{
    SKIP_WITHOUT_NODE();
    cluster_rpc rpc(client_->rpc());
    std::promise<std::pair<std::error_code, std::string>> echoed;
    rpc.echo.echoRemote.to_server("node-echo-1")
        .echo("hello, pomelo", [&](std::error_code ec, std::string s) {
            echoed.set_value({ec, std::move(s)});
        });
    auto [ec, s] = echoed.get_future().get();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s, "hello, pomelo");

    std::promise<std::pair<std::error_code, std::int64_t>> added;
    rpc.echo.echoRemote.to_server("node-echo-1")
        .add((std::int64_t{1} << 52) + 1, 2, [&](std::error_code ec, std::int64_t n) {
            added.set_value({ec, n});
        });
    auto [ec2, n] = added.get_future().get();
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(n, (std::int64_t{1} << 52) + 3);

    // A Node remote without a C++ declaration: JSON in, JSON out.
    const json obj = json::parse(R"({"name":"ann","level":4,"nested":{"list":[1,2.5,"x",null]}})");
    auto [ec3, reply] = client_->call<mailroom::reply>("node-echo-1", echo_method("echo"),
                                                       json::array({obj}));
    ASSERT_FALSE(ec3) << ec3.message();
    ASSERT_NE(reply.json(), nullptr);
    EXPECT_EQ(*reply.json(), obj);

    auto [ec4, sum] = client_->call<double>("node-echo-1", echo_method("add"),
                                            std::make_tuple(1.5, 2.25));
    ASSERT_FALSE(ec4) << ec4.message();
    EXPECT_EQ(sum, 3.75);

    auto [ec5, p] = client_->call<mailroom::test::player>(
        "node-echo-1", echo_method("echo"),
        std::make_tuple(mailroom::test::player{"bo", 2, {"t"}}));
    ASSERT_FALSE(ec5) << ec5.message();
    EXPECT_EQ(p, (mailroom::test::player{"bo", 2, {"t"}}));
}

TEST_P(CppClientCallsNodeServer, SeveralResultsAndErrors)
{
    SKIP_WITHOUT_NODE();
    auto [ec, r] = client_->call<mailroom::pomelo::results<std::string, int>>(
        "node-echo-1", echo_method("pair"), std::make_tuple(std::string("left"), 7));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::get<0>(r), "left");
    EXPECT_EQ(std::get<1>(r), 7);

    auto [ec1, fields] = client_->call<pair_result>("node-echo-1", echo_method("pair"),
                                                    std::make_tuple(std::string("right"), 8));
    ASSERT_FALSE(ec1) << ec1.message();
    EXPECT_EQ(fields.text, "right");
    EXPECT_EQ(fields.number, 8);

    mailroom::diagnostics diag;
    auto [ec2, v] = client_->call<int>("node-echo-1", echo_method("fail"),
                                       std::make_tuple(std::string("the dragon ate it")), &diag);
    EXPECT_EQ(ec2, error::remote_error);
    EXPECT_EQ(diag.remote_message(), "the dragon ate it");

    auto [ec3, v3] = client_->call<int>("node-echo-1", echo_method("nope"), std::tuple<>{}, &diag);
    EXPECT_EQ(ec3, error::unknown_method);
    EXPECT_EQ(diag.remote_message(), "no such method:nope");
    auto [ec4, v4] = client_->call<int>("node-echo-1", {.service = "nope", .method = "x"},
                                        std::tuple<>{}, &diag);
    EXPECT_EQ(ec4, error::unknown_service);
}

TEST_P(CppClientCallsNodeServer, ABurstOfAThousandCallsAndALargeArgument)
{
    SKIP_WITHOUT_NODE();
    constexpr int n = 1000;
    std::atomic<int> ok{0}, done{0};
    std::promise<void> all;
    for (int i = 0; i < n; ++i)
        client_->rpc().async_call_to<std::int64_t>(
            "node-echo-1", echo_method("add"), std::make_tuple(i, 1'000'000),
            [&, i](std::error_code ec, std::int64_t r) {
                if (!ec && r == i + 1'000'000)
                    ++ok;
                if (++done == n)
                    all.set_value();
            });
    all.get_future().get();
    EXPECT_EQ(ok.load(), n);

    const std::string big(1536u << 10, 'y');
    auto [ec, size] = client_->call<std::size_t>("node-echo-1", echo_method("size"),
                                                 std::make_tuple(big));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(size, big.size());
    auto [ec2, back] = client_->call<std::string>("node-echo-1", echo_method("echo"),
                                                  std::make_tuple(big));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(back, big);
}

TEST_P(CppClientCallsNodeServer, ANotifyIsAStockNullCallbackCall)
{
    SKIP_WITHOUT_NODE();
    std::promise<std::error_code> sent;
    client_->rpc().async_notify_to("node-echo-1", echo_method("note"),
                                   std::make_tuple(std::string("fire and forget")),
                                   [&](std::error_code ec) { sent.set_value(ec); });
    EXPECT_FALSE(sent.get_future().get());
    // The stock server answers it anyway (without an id): dropped, and the link stays up.
    auto [ec, s] = client_->call<mailroom::reply>("node-echo-1", echo_method("lastNote"),
                                                  std::tuple<>{});
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_NE(s.json(), nullptr);
    EXPECT_EQ(*s.json(), "fire and forget");
    EXPECT_EQ(node_->count("connected"), 1u);
}

TEST_P(CppClientCallsNodeServer, KeepalivePingsKeepTheLink)
{
    SKIP_WITHOUT_NODE();
    // A client that gives up after 1 s of silence (loose enough for a loaded machine): only
    // the stock server's PINGRESPs keep its link during the idle time below.
    client_.reset();
    link_.keepalive_interval = 100ms;
    link_.keepalive_timeout = 1000ms;
    client_.emplace(link_);
    const auto port = node_->wait_line("PORT ", 1s);
    client_->add_server("node-echo-1", "echo", static_cast<std::uint16_t>(std::stoi(*port)),
                        std::get<0>(GetParam()));
    auto [ec, s] = client_->call<std::string>("node-echo-1", echo_method("echo"),
                                              std::make_tuple(std::string("before")));
    ASSERT_FALSE(ec) << ec.message();
    std::this_thread::sleep_for(2500ms); // idle time is what this test is about
    auto [ec2, s2] = client_->call<std::string>("node-echo-1", echo_method("echo"),
                                                std::make_tuple(std::string("after")));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(node_->count("connected"), 1u) << "the link was never dropped and reopened";
}

TEST_P(CppClientCallsNodeServer, AServerKilledMidCallFailsEveryCallOnceAtOnce)
{
    SKIP_WITHOUT_NODE();
    constexpr int n = 10;
    std::array<std::atomic<int>, n> completions{};
    std::array<std::promise<std::error_code>, n> results;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
        client_->rpc().async_call_to<int>(
            "node-echo-1", echo_method("hang"), std::tuple<>{},
            mailroom::call_options{.timeout = 30s}, [&, i](std::error_code ec, int) {
                if (completions[i]++ == 0)
                    results[i].set_value(ec);
            });
    ASSERT_TRUE(node_->wait_count("HANG", n, 30s)) << "the server got the calls";
    node_->kill();
    for (int i = 0; i < n; ++i) {
        auto f = results[i].get_future();
        ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "call " << i;
        EXPECT_EQ(f.get(), error::disconnected) << "call " << i;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "not left to the 30 s timeout";
    client_.reset(); // nothing completes a second time, at shutdown either
    for (auto& c : completions)
        EXPECT_EQ(c.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Interop, CppClientCallsNodeServer,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& i) {
                             return label(std::get<0>(i.param), std::get<1>(i.param));
                         });

} // namespace
