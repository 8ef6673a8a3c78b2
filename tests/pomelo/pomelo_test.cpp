// The pomelo transport with mailroom on both ends: typed calls, several results, errors with
// their codes, batches both ways, a large argument, a server that goes away.

// Test that header file is self-contained.
#include <mailroom/pomelo/transport.hpp>

#include "chat_fixture.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <tuple>

namespace {

using mailroom::error;
using mailroom::test::player;
using mailroom::test::pomelo_client;

const mailroom::protocol::method_path chat{.server_type = "chat", .service = "chatRemote"};

mailroom::protocol::method_path method(std::string_view m)
{
    auto p = chat;
    p.method = m;
    return p;
}

class PomeloTransport : public ::testing::TestWithParam<std::tuple<bool, bool>> {
protected:
    PomeloTransport()
    {
        auto& s = client_.start_server(std::get<1>(GetParam()));
        client_.add_server("cpp-chat-1", "chat", s.port(), std::get<0>(GetParam()));
    }

    pomelo_client client_;
};

TEST_P(PomeloTransport, TypedCallsTravel)
{
    auto [ec, s] = client_.call<std::string>("cpp-chat-1", method("echoString"),
                                             std::make_tuple(std::string("hello")));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s, "hello");
    auto [ec2, n] = client_.call<std::int64_t>("cpp-chat-1", method("add"),
                                               std::make_tuple(std::int64_t{1} << 40, 5));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(n, (std::int64_t{1} << 40) + 5);
    auto [ec3, p] = client_.call<player>("cpp-chat-1", method("promote"),
                                         std::make_tuple(player{"ann", 4, {"x"}}));
    ASSERT_FALSE(ec3) << ec3.message();
    EXPECT_EQ(p, (player{"ann", 5, {"x"}}));
}

TEST_P(PomeloTransport, SeveralResultsArriveAsResults)
{
    auto [ec, r] = client_.call<mailroom::pomelo::results<std::string, int>>(
        "cpp-chat-1", method("pair"), std::make_tuple(std::string("left"), 7));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::get<0>(r), "left");
    EXPECT_EQ(std::get<1>(r), 7);
}

TEST_P(PomeloTransport, SeveralResultsFillAStructsFields)
{
    auto [ec, r] = client_.call<mailroom::test::room_stats>("cpp-chat-1", method("stats"),
                                                           std::make_tuple(3));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r, (mailroom::test::room_stats{3, "open"}));
}

TEST_P(PomeloTransport, ErrorsKeepTheirCodeAndMessage)
{
    mailroom::diagnostics diag;
    auto [ec, v] = client_.call<int>("cpp-chat-1", method("fail"),
                                     std::make_tuple(std::string("boom")), &diag);
    EXPECT_EQ(ec, error::remote_error);
    EXPECT_EQ(diag.remote_message(), "boom");
    auto [ec2, v2] = client_.call<int>("cpp-chat-1", method("toString"), std::tuple<>{}, &diag);
    EXPECT_EQ(ec2, error::unknown_method);
    auto [ec3, v3] = client_.call<int>("cpp-chat-1", method("add"),
                                       std::make_tuple(std::string("x"), 1), &diag);
    EXPECT_EQ(ec3, error::bad_arguments);
    EXPECT_EQ(diag.remote_message(), "argument 1 of 2: expected long int, got a string");
}

TEST_P(PomeloTransport, ManyConcurrentCallsAndALargeArgumentAllComplete)
{
    constexpr int n = 1000;
    std::atomic<int> ok{0}, done{0};
    std::promise<void> all;
    for (int i = 0; i < n; ++i)
        client_.rpc().async_call_to<std::int64_t>(
            "cpp-chat-1", method("add"), std::make_tuple(i, 1'000'000),
            [&, i](std::error_code ec, std::int64_t r) {
                if (!ec && r == i + 1'000'000)
                    ++ok;
                if (++done == n)
                    all.set_value();
            });
    all.get_future().get();
    EXPECT_EQ(ok.load(), n);
    const std::string big(3u << 20, 'x');
    auto [ec, size] = client_.call<std::size_t>("cpp-chat-1", method("size"), std::make_tuple(big));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(size, big.size());
}

TEST_P(PomeloTransport, NotifiesAreDelivered)
{
    std::promise<std::error_code> sent;
    client_.rpc().async_notify_to("cpp-chat-1", method("note"),
                                  std::make_tuple(std::string("fire and forget")),
                                  [&](std::error_code ec) { sent.set_value(ec); });
    EXPECT_FALSE(sent.get_future().get());
    // Calls on one link are handled in order: the note is in before this call.
    auto [ec, s] = client_.call<std::string>("cpp-chat-1", method("lastNote"), std::tuple<>{});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s, "fire and forget");
}

INSTANTIATE_TEST_SUITE_P(Batching, PomeloTransport,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) ? "Batched" : "Single") +
                                    "Calls" + (std::get<1>(info.param) ? "Batched" : "Single") +
                                    "Answers";
                         });

std::uint16_t free_port()
{
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

TEST(PomeloTransportApp, ServersJsonNamesThePomeloTransport)
{
    // A chat server on the pomelo transport (as a Node pomelo server would be, batching its
    // answers) and a connector on tcp, from one servers.json.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("mailroom-pomelo-app-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "servers.json") << R"({"development": {
        "chat": [{"id": "chat-1", "host": "127.0.0.1", "port": )" << free_port()
                                        << R"(, "transport": "pomelo", "bufferMsg": true}],
        "connector": [{"id": "connector-1", "host": "127.0.0.1", "port": )" << free_port()
                                        << R"(}]}})";
    auto options = [&](std::string id) {
        mailroom::app_options o;
        o.config = dir / "servers.json";
        o.server_id = std::move(id);
        o.log.min_level = mailroom::log_level::off;
        return o;
    };
    {
        mailroom::basic_app chat(options("chat-1"));
        mailroom::basic_app connector(options("connector-1"));
        for (auto* a : {&chat, &connector}) {
            a->add_transport("tcp", mailroom::tcp::make_transport());
            a->add_transport("pomelo", mailroom::pomelo::make_transport());
        }
        chat.get_dispatcher().add("chatRemote", "pair", [](std::string s, int n) {
            return mailroom::pomelo::results<std::string, int>{std::move(s), n};
        });
        chat.start();
        connector.start();
        auto f = connector.dynamic().async_call_to<mailroom::pomelo::results<std::string, int>>(
            "chat-1", method("pair"), std::make_tuple(std::string("x"), 2),
            boost::asio::use_future);
        auto [ec, r] = f.get();
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(r, (mailroom::pomelo::results<std::string, int>{"x", 2}));
        connector.stop();
        chat.stop();
        connector.wait();
        chat.wait();
    }
    std::filesystem::remove_all(dir);
}

} // namespace
