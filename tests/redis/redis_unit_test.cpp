#include <mailroom/redis/envelope.hpp>
// Test that header file is self-contained.

// The pure pieces of the Redis transport: URLs, keys, envelopes, the error category.

#include <mailroom/error.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/reply_reader.hpp>
#include <mailroom/redis/url.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <array>

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

TEST(RedisEnvelope, AHugeContainerHeaderIsRefusedWithoutAllocatingForIt)
{
    // Found by the redis fuzz target: a 5-byte map header declaring 2^32 - 1 entries made
    // the decoder allocate for all of them before noticing the entry was short.
    const std::string huge_map("\x94\x01\xdf\xff\xff\xff\xff", 7);
    EXPECT_FALSE(decode_request(huge_map));
    const std::string huge_array("\x92\xdd\xff\xff\xff\xff", 6);
    EXPECT_FALSE(decode_reply(huge_array));
    EXPECT_FALSE(decode_request(std::string("\xdd\xff\xff\xff\xff", 5)));
}

std::span<const char> bytes(std::string_view s) { return {s.data(), s.size()}; }

TEST(RedisReplyReader, BuildsRepliesFromAStreamFedInPieces)
{
    reply_reader r;
    const std::string stream = "+OK\r\n:42\r\n$-1\r\n*2\r\n$5\r\nhello\r\n*1\r\n-ERR no\r\n$3\r\na";
    std::vector<reply> got;
    for (char c : stream) {
        ASSERT_FALSE(r.feed({&c, 1}));
        std::error_code ec;
        while (auto rep = r.next(ec))
            got.push_back(std::move(*rep));
        ASSERT_FALSE(ec);
    }
    ASSERT_EQ(got.size(), 4u) << "the last bulk string is incomplete";
    EXPECT_EQ(got[0].type, reply::kind::status);
    EXPECT_EQ(got[0].str, "OK");
    EXPECT_EQ(got[1].integer, 42);
    EXPECT_EQ(got[2].type, reply::kind::nil);
    ASSERT_EQ(got[3].elements.size(), 2u);
    EXPECT_EQ(got[3].elements[0].str, "hello");
    ASSERT_EQ(got[3].elements[1].elements.size(), 1u);
    EXPECT_EQ(got[3].elements[1].elements[0].type, reply::kind::error);
    EXPECT_EQ(got[3].elements[1].elements[0].str, "ERR no");
    ASSERT_FALSE(r.feed(bytes("bc\r\n")));
    std::error_code ec;
    auto last = r.next(ec);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->str, "abc");
}

TEST(RedisReplyReader, RefusesAnArrayBeyondItsLimitAndStaysBroken)
{
    reply_reader r(2);
    ASSERT_FALSE(r.feed(bytes("*2\r\n:1\r\n:2\r\n*3\r\n")));
    std::error_code ec;
    auto ok = r.next(ec);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->elements.size(), 2u);
    EXPECT_FALSE(r.next(ec));
    EXPECT_EQ(ec, error::protocol_error);
    ec.clear();
    EXPECT_FALSE(r.next(ec));
    EXPECT_EQ(ec, error::protocol_error);

    reply_reader big; // the default limit: a header of 2^31 - 1 elements allocates nothing
    ASSERT_FALSE(big.feed(bytes("*2147483647\r\n")));
    EXPECT_FALSE(big.next(ec));
    EXPECT_EQ(ec, error::protocol_error);
    reply_reader garbage;
    ASSERT_FALSE(garbage.feed(bytes("?what\r\n")));
    ec.clear();
    EXPECT_FALSE(garbage.next(ec));
    EXPECT_EQ(ec, error::protocol_error);
}

TEST(RedisError, EveryCodeHasAMessageAndACondition)
{
    for (int i = 1; i <= static_cast<int>(error::bad_option); ++i) {
        std::error_code ec = static_cast<error>(i);
        EXPECT_STREQ(ec.category().name(), "mailroom.redis");
        EXPECT_FALSE(ec.message().empty());
        EXPECT_NE(ec.message(), "unknown mailroom.redis error");
    }
    EXPECT_TRUE(std::error_code(error::unreachable) == mailroom::condition::permanent);
    EXPECT_TRUE(std::error_code(error::unreachable) == mailroom::condition::retryable);
    EXPECT_TRUE(std::error_code(error::auth_failed) == mailroom::condition::permanent);
    EXPECT_TRUE(std::error_code(error::bad_option) == mailroom::condition::permanent);
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

// A link that went down before its owner listened for that is still reported: a lost handler
// given afterwards is called, once. One given after the owner's close() is dropped.
TEST(RedisConnection, ALinkLostBeforeItsOwnerListensIsReportedToTheLateHandler)
{
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket peer(ioc);
    std::array<char, 256> buf{};
    // A fake Redis: answers the greeting's PING, then closes at the next command.
    acc.async_accept(peer, [&](boost::system::error_code ec) {
        ASSERT_FALSE(ec);
        peer.async_read_some(asio::buffer(buf), [&](boost::system::error_code, std::size_t) {
            asio::async_write(peer, asio::buffer("+PONG\r\n", 7),
                              [&](boost::system::error_code, std::size_t) {
                                  peer.async_read_some(asio::buffer(buf),
                                                       [&](boost::system::error_code, std::size_t) {
                                                           peer.close();
                                                       });
                              });
        });
    });
    url where;
    where.host = "127.0.0.1";
    where.port = acc.local_endpoint().port();
    auto c = connection::create(ioc.get_executor(), where, std::chrono::seconds(5));
    std::error_code connected = error::unreachable, command, lost;
    int lost_calls = 0;
    c->async_connect([&](std::error_code ec) {
        connected = ec;
        c->exec({"GET", "k"}, [&](std::error_code ec, reply) {
            command = ec; // the link is down, and nobody listens for that yet
            c->on_lost([&](std::error_code ec) {
                lost = ec;
                ++lost_calls;
            });
        });
    });

    auto closed = connection::create(ioc.get_executor(), where);
    closed->close();
    closed->on_lost([&](std::error_code) { ADD_FAILURE() << "closed by its owner: not lost"; });
    ioc.run(); // returns once everything has completed
    EXPECT_FALSE(connected) << connected.message();
    EXPECT_EQ(command, error::connection_lost);
    EXPECT_EQ(lost_calls, 1);
    EXPECT_EQ(lost, error::connection_lost);
}

} // namespace
