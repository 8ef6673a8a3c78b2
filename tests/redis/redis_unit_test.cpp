#include <mailroom/redis/envelope.hpp>
// Test that header file is self-contained.

// The pure pieces of the Redis transport: URLs, keys, envelopes, the error category.

#include <mailroom/error.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/url.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace {

using namespace mailroom::redis;

TEST(RedisUrl, ParsesHostPortPasswordAndDb)
{
    auto u = parse_url("redis://:secret@10.0.0.7:6380/3");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "10.0.0.7");
    EXPECT_EQ(u->port, 6380);
    EXPECT_EQ(u->password, "secret");
    EXPECT_EQ(u->db, 3);
    EXPECT_EQ(parse_url("redis://localhost"), (url{.host = "localhost"}));
    EXPECT_EQ(parse_url("redis://[::1]:7000")->host, "::1");
    EXPECT_EQ(parse_url("redis://[::1]:7000")->port, 7000);
    EXPECT_EQ(parse_url("redis://user:pw@h:1/0")->password, "pw");
}

TEST(RedisUrl, RefusesMalformedUrls)
{
    for (auto bad : {"", "http://h:1", "redis://", "redis://h:0", "redis://h:70000", "redis://h:x",
                     "redis://h:1/x", "redis://h:1/-1", "redis://:pw@"})
        EXPECT_FALSE(parse_url(bad)) << bad;
}

TEST(RedisKeys, EveryKeyOfANodeCarriesItsHashTag)
{
    EXPECT_EQ(keys::request_list("chat-1"), "mailroom:{chat-1}:q");
    EXPECT_EQ(keys::processing_list("chat-1", "ab"), "mailroom:{chat-1}:p:ab");
    EXPECT_EQ(keys::lease("chat-1", "ab"), "mailroom:{chat-1}:lease:ab");
    EXPECT_EQ(keys::reply_list("c0ffee"), "mailroom:{c0ffee}:r");
    EXPECT_EQ(node_of({.id = "chat-1"}), "chat-1");
    EXPECT_EQ(node_of({.id = "chat-1", .options = {{"redis_node", "n7"}}}), "n7");
    EXPECT_NE(make_instance_id(), make_instance_id());
}

TEST(RedisEnvelope, RequestsAndRepliesRoundTrip)
{
    const std::string body("\x93\x01\x02\x00with nul", 12);
    auto req = encode(request_envelope{.reply_list = "mailroom:{c}:r", .deadline_ms = 1234567890123,
                                       .body = body});
    auto r = decode_request(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->reply_list, "mailroom:{c}:r");
    EXPECT_EQ(r->deadline_ms, 1234567890123u);
    EXPECT_EQ(std::string(r->body.begin(), r->body.end()), body);

    auto rep = encode(reply_envelope{.node = "chat-1", .body = body});
    auto p = decode_reply(rep);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->node, "chat-1");
    EXPECT_EQ(std::string(p->body.begin(), p->body.end()), body);
}

TEST(RedisEnvelope, MalformedEntriesDecodeToNothing)
{
    auto req = encode(request_envelope{.reply_list = "r", .deadline_ms = 1, .body = {}});
    EXPECT_FALSE(decode_request(req.substr(0, req.size() - 1)));
    EXPECT_FALSE(decode_request(req + "x"));
    EXPECT_FALSE(decode_request("garbage"));
    EXPECT_FALSE(decode_request(""));
    EXPECT_FALSE(decode_reply(req));
    EXPECT_FALSE(decode_request(encode(reply_envelope{.node = "n", .body = {}})));
    EXPECT_GT(unix_now_ms(), 1'600'000'000'000u);
}

TEST(RedisError, EveryCodeHasAMessageAndACondition)
{
    for (int i = 1; i <= static_cast<int>(error::command_failed); ++i) {
        std::error_code ec = static_cast<error>(i);
        EXPECT_STREQ(ec.category().name(), "mailroom.redis");
        EXPECT_FALSE(ec.message().empty());
        EXPECT_NE(ec.message(), "unknown mailroom.redis error");
    }
    EXPECT_TRUE(std::error_code(error::unreachable) == mailroom::condition::permanent);
    EXPECT_TRUE(std::error_code(error::unreachable) == mailroom::condition::retryable);
    EXPECT_TRUE(std::error_code(error::auth_failed) == mailroom::condition::permanent);
    EXPECT_FALSE(std::error_code(error::connection_lost) == mailroom::condition::permanent);
    EXPECT_TRUE(std::error_code(error::connection_lost) == mailroom::condition::disconnected);
}

// The transport's endpoint and acceptor pass their own strand: the connection runs on it
// rather than on a strand of its own inside it (which doubled the work of every handler).
TEST(RedisConnection, UsesTheStrandItIsGivenAndMakesOneOtherwise)
{
    boost::asio::io_context ioc;
    const auto owner = boost::asio::make_strand(boost::asio::any_io_executor(ioc.get_executor()));
    EXPECT_TRUE(connection::create(owner, url{})->get_executor() == owner);
    const auto own = connection::create(ioc.get_executor(), url{});
    EXPECT_FALSE(own->get_executor() == owner);
    EXPECT_TRUE(own->get_executor().get_inner_executor() ==
                boost::asio::any_io_executor(ioc.get_executor()));
}

} // namespace
