// The pomelo transport with mailroom on both ends: typed calls, several results, errors with
// their codes, batches both ways, a large argument, a server that goes away.

// Test that header file is self-contained.
#include <mailroom/pomelo/transport.hpp>

#include "chat_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
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

TEST(PomeloTransportApp, ServersJsonNamesThePomeloTransport)
{
    auto t = mailroom::pomelo::make_transport();
    ASSERT_TRUE(t.mailbox);
    ASSERT_TRUE(t.acceptor);
    ASSERT_TRUE(t.protocol);
    EXPECT_EQ(t.protocol->name(), "pomelo");
}

} // namespace
