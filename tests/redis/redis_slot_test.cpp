#include <mailroom/redis/slot.hpp>
// Test that header file is self-contained.

// The pure pieces of Redis Cluster support: hash slots and redis+cluster:// URLs. The
// expected slots are Redis 7's own answers to CLUSTER KEYSLOT.

#include <mailroom/redis/cluster.hpp>
#include <mailroom/redis/keys.hpp>

#include <gtest/gtest.h>

namespace {

using namespace mailroom::redis;

TEST(RedisSlot, Crc16IsXmodem)
{
    // The check value of CRC16/XMODEM, as the Redis Cluster specification gives it.
    EXPECT_EQ(crc16("123456789"), 0x31C3);
    EXPECT_EQ(crc16(""), 0);
}

TEST(RedisSlot, MatchesRedis)
{
    EXPECT_EQ(key_slot("123456789"), 12739);
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("bar"), 5061);
    EXPECT_EQ(key_slot("hello"), 866);
    EXPECT_EQ(key_slot("mailroom:{chat-1}:q"), 14191);
}

TEST(RedisSlot, HashTagsFollowTheSpecification)
{
    EXPECT_EQ(key_slot("{foo}bar"), key_slot("foo"));
    EXPECT_EQ(key_slot("{user1000}.following"), 3443);
    EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar")); // the first tag only
    EXPECT_EQ(key_slot("foo{}{bar}"), 8363);               // an empty tag: the whole key
    EXPECT_EQ(key_slot("{}foo"), 9500);
    EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015); // the tag is "{bar"
    EXPECT_EQ(key_slot("foo{bar"), key_slot("foo{bar"));
}

TEST(RedisSlot, EveryKeyOfANodeIsInTheNodesSlot)
{
    const auto s = key_slot("node-7");
    EXPECT_EQ(key_slot(keys::request_list("node-7")), s);
    EXPECT_EQ(key_slot(keys::processing_list("node-7", "0123456789abcdef")), s);
    EXPECT_EQ(key_slot(keys::lease("node-7", "0123456789abcdef")), s);
    EXPECT_EQ(key_slot(keys::reply_list("caller-1")), key_slot("caller-1"));
}

TEST(RedisClusterUrl, ParsesSeedsAndPassword)
{
    EXPECT_TRUE(is_cluster_url("redis+cluster://h:1"));
    EXPECT_FALSE(is_cluster_url("redis://h:1"));
    auto seeds =
        parse_cluster_url("redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
    ASSERT_TRUE(seeds);
    ASSERT_EQ(seeds->size(), 3u);
    EXPECT_EQ((*seeds)[0], (url{.host = "10.0.0.1", .port = 7000, .password = "secret"}));
    EXPECT_EQ((*seeds)[1], (url{.host = "10.0.0.2", .port = 7001, .password = "secret"}));
    EXPECT_EQ((*seeds)[2].host, "::1");
    EXPECT_EQ((*seeds)[2].password, "secret");
    EXPECT_EQ(parse_cluster_url("redis+cluster://h")->front(), (url{.host = "h"}));
}

TEST(RedisClusterUrl, RefusesMalformedUrls)
{
    EXPECT_FALSE(parse_cluster_url("redis://h:1"));
    EXPECT_FALSE(parse_cluster_url("redis+cluster://"));
    EXPECT_FALSE(parse_cluster_url("redis+cluster://h:1,"));
    EXPECT_FALSE(parse_cluster_url("redis+cluster://h:1,,h:2"));
    EXPECT_FALSE(parse_cluster_url("redis+cluster://h:99999"));
    EXPECT_FALSE(parse_cluster_url("redis+cluster://h:1/2")); // a cluster has only database 0
}

} // namespace
