#include <mailroom/client/router.hpp>
// Test that header file is self-contained.

#include <mailroom/client/route_param.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/crc32.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/server_info.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using mailroom::route_param;
using mailroom::router;
using mailroom::server_info;
using mailroom::server_table;
namespace routes = mailroom::routes;

mailroom::protocol::method_path call_to(std::string_view type)
{
    return {.ns = "user", .server_type = type, .service = "remote", .method = "m"};
}

server_info server(std::string id, std::string type)
{
    return {.id = std::move(id), .server_type = std::move(type), .host = "127.0.0.1", .port = 1};
}

/// Three chat servers inserted out of id order, plus servers of other types in between.
std::vector<server_info> cluster()
{
    return {server("chat-3", "chat"), server("gate-1", "gate"), server("chat-1", "chat"),
            server("connector-1", "connector"), server("chat-2", "chat")};
}

// The chat servers ordered by id, as every process must see them.
const std::vector<std::string> chat_ids{"chat-1", "chat-2", "chat-3"};

std::vector<std::string> ids_of(std::span<const server_info* const> list)
{
    std::vector<std::string> out;
    for (const server_info* s : list)
        out.push_back(s->id);
    return out;
}

// --- server_table --------------------------------------------------------------------------

TEST(ServerTable, ListsServersOfATypeOrderedById)
{
    const server_table t(cluster());
    EXPECT_EQ(ids_of(t.of_type("chat")), chat_ids);
    EXPECT_EQ(ids_of(t.of_type("gate")), std::vector<std::string>{"gate-1"});
    EXPECT_TRUE(t.of_type("area").empty());
    EXPECT_TRUE(t.of_type("").empty());
}

TEST(ServerTable, FindsServersById)
{
    const server_table t(cluster());
    const server_info* s = t.find("chat-2");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->id, "chat-2");
    EXPECT_EQ(s->server_type, "chat");
    EXPECT_EQ(s->transport, "tcp");
    EXPECT_EQ(t.find("chat-9"), nullptr);
    EXPECT_EQ(t.find(""), nullptr);
}

TEST(ServerTable, KeepsEveryServerInInsertionOrder)
{
    const server_table t(cluster());
    EXPECT_EQ(t.all(), cluster());
}

TEST(ServerTable, RejectsADuplicateId)
{
    std::vector<server_info> servers = cluster();
    servers.push_back(server("chat-1", "gate"));
    EXPECT_THROW(server_table{std::move(servers)}, std::invalid_argument);
}

TEST(ServerTable, DefaultConstructedTableIsEmpty)
{
    const server_table t;
    EXPECT_TRUE(t.all().empty());
    EXPECT_EQ(t.find("chat-1"), nullptr);
    EXPECT_TRUE(t.of_type("chat").empty());
}

// --- route_param ---------------------------------------------------------------------------

struct session
{
    std::string uid;
};
struct other
{
};

TEST(RouteParam, OfAnObjectReturnsItOnlyAsItsOwnType)
{
    const session s{"user-1"};
    const route_param p = route_param::of(s);
    EXPECT_EQ(p.get<session>(), &s);
    EXPECT_EQ(p.get<other>(), nullptr);
    EXPECT_EQ(p.get<std::string>(), nullptr);
    EXPECT_FALSE(p.has_key());
    EXPECT_FALSE(p.has_number());
    EXPECT_FALSE(p.empty());
}

TEST(RouteParam, CarriesAKeyNextToAnObject)
{
    const session s{"user-1"};
    const route_param p = route_param::of(s).with_key(s.uid);
    EXPECT_EQ(p.get<session>(), &s);
    ASSERT_TRUE(p.has_key());
    EXPECT_EQ(p.key(), "user-1");
}

TEST(RouteParam, DefaultIsEmpty)
{
    const route_param p;
    EXPECT_TRUE(p.empty());
    EXPECT_FALSE(p.has_key());
    EXPECT_FALSE(p.has_number());
    EXPECT_EQ(p.get<session>(), nullptr);
}

TEST(RouteParam, KeysComeFromAnyStringType)
{
    const std::string owned = "k-1";
    for (const route_param& p :
         {route_param("k-1"), route_param(owned), route_param(std::string_view(owned))}) {
        ASSERT_TRUE(p.has_key());
        EXPECT_EQ(p.key(), "k-1");
        EXPECT_FALSE(p.has_number());
        EXPECT_FALSE(p.empty());
    }
    // An empty key is still a key.
    EXPECT_TRUE(route_param("").has_key());
}

TEST(RouteParam, NumbersComeFromAnyIntegerType)
{
    EXPECT_EQ(route_param(42).number(), 42u);
    EXPECT_EQ(route_param(std::uint16_t{7}).number(), 7u);
    EXPECT_EQ(route_param(std::numeric_limits<std::uint64_t>::max()).number(),
              std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(route_param(0).has_number());
    EXPECT_FALSE(route_param(0).has_key());
    EXPECT_FALSE(route_param(0).empty());
}

// --- routes::hash --------------------------------------------------------------------------

/// pomelo's defaultRoute: Math.abs(crc.crc32(uid.toString())) % n, where node's `crc`
/// package returns the CRC as a signed 32-bit number (`crc ^ -1`).
std::size_t pomelo_index(std::string_view key, std::size_t n)
{
    const std::int64_t s = static_cast<std::int32_t>(mailroom::crc32(key));
    return static_cast<std::size_t>(s < 0 ? -s : s) % n;
}

TEST(HashRoute, PicksTheServerPomeloPicksForEveryKey)
{
    const server_table t(cluster());
    const auto f = routes::hash();
    for (int i = 0; i < 200; ++i) {
        const std::string key = "user-" + std::to_string(i);
        const std::string expected = chat_ids[pomelo_index(key, chat_ids.size())];
        EXPECT_EQ(f(route_param(key), call_to("chat"), t), expected) << key;
    }
}

// "user-2" (0xE72F17AE) and "user-3" (0x90282738) have the high bit set: as signed numbers
// their index differs from the unsigned CRC's, and pomelo's choice is the one to keep.
TEST(HashRoute, AgreesWithPomeloForKeysWhoseCrcHasTheHighBitSet)
{
    const server_table t(cluster());
    const auto f = routes::hash();
    EXPECT_EQ(f(route_param("user-1"), call_to("chat"), t), "chat-3");
    EXPECT_EQ(f(route_param("user-2"), call_to("chat"), t), "chat-1");
    EXPECT_EQ(f(route_param("user-3"), call_to("chat"), t), "chat-2");
    EXPECT_EQ(f(route_param(12345), call_to("chat"), t), "chat-2");
}

TEST(HashRoute, HashesANumberAsItsDecimalString)
{
    const server_table t(cluster());
    const auto f = routes::hash();
    // crc32("42") = 0x3224B088, % 3 == 2; crc32("12345") = 0xCBF53A1C is negative as int32,
    // and abs() of it % 3 == 1 (pomelo's arithmetic).
    EXPECT_EQ(f(route_param(42), call_to("chat"), t), "chat-3");
    EXPECT_EQ(f(route_param(12345), call_to("chat"), t), "chat-2");
    EXPECT_EQ(f(route_param(-5), call_to("chat"), t), f(route_param("-5"), call_to("chat"), t));
    for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{7}, std::uint64_t{1'000'000'007},
                            std::numeric_limits<std::uint64_t>::max()}) {
        const std::string decimal = std::to_string(n);
        EXPECT_EQ(f(route_param(n), call_to("chat"), t),
                  f(route_param(decimal), call_to("chat"), t))
            << n;
    }
}

TEST(HashRoute, IsTheSameAcrossInstancesAndCalls)
{
    const server_table t(cluster());
    const auto a = routes::hash();
    const auto b = routes::hash();
    for (int i = 0; i < 50; ++i) {
        const std::string key = "room-" + std::to_string(i);
        const std::string first = a(route_param(key), call_to("chat"), t);
        EXPECT_EQ(a(route_param(key), call_to("chat"), t), first);
        EXPECT_EQ(b(route_param(key), call_to("chat"), t), first);
    }
}

TEST(HashRoute, DoesNotDependOnInsertionOrder)
{
    const std::vector<server_info> servers = cluster();
    std::vector<server_info> reversed(servers.rbegin(), servers.rend());
    const server_table a(cluster());
    const server_table b(std::move(reversed));
    const auto f = routes::hash();
    for (int i = 0; i < 50; ++i) {
        const std::string key = "user-" + std::to_string(i);
        EXPECT_EQ(f(route_param(key), call_to("chat"), a), f(route_param(key), call_to("chat"), b));
    }
}

TEST(HashRoute, FallsBackToRoundRobinWithoutKeyOrNumber)
{
    const server_table t(cluster());
    const auto f = routes::hash();
    const session s{"user-1"};
    std::vector<std::string> got;
    for (int i = 0; i < 6; ++i)
        got.push_back(f(i % 2 ? route_param() : route_param::of(s), call_to("chat"), t));
    EXPECT_EQ(got, (std::vector<std::string>{"chat-1", "chat-2", "chat-3", "chat-1", "chat-2",
                                             "chat-3"}));
}

TEST(HashRoute, ReturnsAnEmptyIdForATypeWithoutServers)
{
    const server_table t(cluster());
    const auto f = routes::hash();
    EXPECT_EQ(f(route_param("user-1"), call_to("area"), t), "");
    EXPECT_EQ(f(route_param(5), call_to(""), t), "");
    EXPECT_EQ(f(route_param(), call_to("area"), t), "");
    EXPECT_EQ(f(route_param("user-1"), call_to("chat"), server_table{}), "");
}

// --- routes::round_robin / routes::random --------------------------------------------------

TEST(RoundRobinRoute, CyclesThroughTheServersOfTheTypeInIdOrder)
{
    const server_table t(cluster());
    const auto f = routes::round_robin();
    std::vector<std::string> got;
    for (int i = 0; i < 7; ++i)
        got.push_back(f(route_param("ignored"), call_to("chat"), t));
    EXPECT_EQ(got, (std::vector<std::string>{"chat-1", "chat-2", "chat-3", "chat-1", "chat-2",
                                             "chat-3", "chat-1"}));
    EXPECT_EQ(f(route_param(), call_to("gate"), t), "gate-1");
    EXPECT_EQ(f(route_param(), call_to("area"), t), "");
}

TEST(RoundRobinRoute, InstancesCountIndependently)
{
    const server_table t(cluster());
    const auto a = routes::round_robin();
    const auto b = routes::round_robin();
    EXPECT_EQ(a(route_param(), call_to("chat"), t), "chat-1");
    EXPECT_EQ(a(route_param(), call_to("chat"), t), "chat-2");
    EXPECT_EQ(b(route_param(), call_to("chat"), t), "chat-1");
}

/// Two chat and two gate servers.
std::vector<server_info> two_types()
{
    return {server("chat-1", "chat"), server("chat-2", "chat"), server("gate-1", "gate"),
            server("gate-2", "gate")};
}

// BUG (src/client/router.cpp, routes::round_robin): one counter is shared by every server
// type the instance routes. The router's default route serves all types, so a caller whose
// keyless calls alternate between two types of two servers each sends every call of a type
// to the same server: chat gets counter values 0, 2, 4, ... and always "chat-1".
TEST(RoundRobinRoute, CyclesEachTypeWhenCallsToTypesInterleave)
{
    const server_table t(two_types());
    const router r(routes::round_robin());
    std::set<std::string> chat, gate;
    for (int i = 0; i < 8; ++i) {
        chat.insert(r.route(route_param(), call_to("chat"), t));
        gate.insert(r.route(route_param(), call_to("gate"), t));
    }
    EXPECT_EQ(chat, (std::set<std::string>{"chat-1", "chat-2"}));
    EXPECT_EQ(gate, (std::set<std::string>{"gate-1", "gate-2"}));
}

// The same defect through the default hash route's keyless fallback.
TEST(HashRoute, FallbackCyclesEachTypeWhenCallsToTypesInterleave)
{
    const server_table t(two_types());
    const router r;
    std::set<std::string> chat, gate;
    for (int i = 0; i < 8; ++i) {
        chat.insert(r.route(route_param(), call_to("chat"), t));
        gate.insert(r.route(route_param(), call_to("gate"), t));
    }
    EXPECT_EQ(chat, (std::set<std::string>{"chat-1", "chat-2"}));
    EXPECT_EQ(gate, (std::set<std::string>{"gate-1", "gate-2"}));
}

TEST(RandomRoute, StaysWithinTheTypeAndReachesEveryServer)
{
    const server_table t(cluster());
    const auto f = routes::random();
    std::set<std::string> seen;
    for (int i = 0; i < 1'000; ++i) {
        const std::string id = f(route_param("key"), call_to("chat"), t);
        ASSERT_NE(t.find(id), nullptr) << id;
        ASSERT_EQ(t.find(id)->server_type, "chat") << id;
        seen.insert(id);
    }
    // Missing one of three servers in 1,000 uniform draws has probability ~3 * (2/3)^1000.
    EXPECT_EQ(seen.size(), 3u);
    EXPECT_EQ(f(route_param(), call_to("area"), t), "");
    EXPECT_EQ(f(route_param(), call_to("gate"), t), "gate-1");
}

// --- router --------------------------------------------------------------------------------

TEST(Router, UsesTheHashRouteByDefault)
{
    const server_table t(cluster());
    const router r;
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-3");
    EXPECT_EQ(r.route(route_param(42), call_to("chat"), t), "chat-3");
    EXPECT_EQ(r.route(route_param("user-1"), call_to("area"), t), "");
}

TEST(Router, SetOverridesOneServerType)
{
    const server_table t(cluster());
    router r;
    r.set("chat", [](const route_param&, const auto&, const server_table&) {
        return std::string("chat-2");
    });
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-2");
    EXPECT_EQ(r.route(route_param("user-3"), call_to("chat"), t), "chat-2");
    // Other types still use the default.
    EXPECT_EQ(r.route(route_param("user-1"), call_to("gate"), t), "gate-1");
}

TEST(Router, SetReplacesAnEarlierOverride)
{
    const server_table t(cluster());
    router r;
    r.set("chat", [](const auto&, const auto&, const auto&) { return std::string("chat-2"); });
    r.set("chat", [](const auto&, const auto&, const auto&) { return std::string("chat-1"); });
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-1");
}

TEST(Router, SetDefaultChangesTheRouteOfTypesWithoutOverride)
{
    const server_table t(cluster());
    router r;
    r.set("gate", [](const auto&, const auto&, const auto&) { return std::string("gate-1"); });
    r.set_default(routes::round_robin());
    std::vector<std::string> got;
    for (int i = 0; i < 4; ++i)
        got.push_back(r.route(route_param("user-1"), call_to("chat"), t));
    EXPECT_EQ(got, (std::vector<std::string>{"chat-1", "chat-2", "chat-3", "chat-1"}));
    EXPECT_EQ(r.route(route_param(), call_to("gate"), t), "gate-1");
}

TEST(Router, ConstructorTakesTheDefaultRoute)
{
    const server_table t(cluster());
    const router r(routes::round_robin());
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-1");
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-2");
}

TEST(Router, RouteFunctionsSeeTheParamCallAndTable)
{
    const server_table t(cluster());
    router r;
    const session s{"user-9"};
    bool called = false;
    r.set("chat", [&](const route_param& p, const mailroom::protocol::method_path& call,
                      const server_table& servers) {
        called = true;
        EXPECT_EQ(p.get<session>(), &s);
        EXPECT_EQ(call.server_type, "chat");
        EXPECT_EQ(call.service, "remote");
        EXPECT_EQ(&servers, &t);
        return std::string("chat-1");
    });
    EXPECT_EQ(r.route(route_param::of(s), call_to("chat"), t), "chat-1");
    EXPECT_TRUE(called);
}

TEST(Router, AnEmptyRouteFunctionRoutesNowhere)
{
    const server_table t(cluster());
    router r{mailroom::route_function{}};
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "");
    r.set("gate", mailroom::route_function{});
    r.set_default(routes::hash());
    EXPECT_EQ(r.route(route_param("user-1"), call_to("gate"), t), "");
    EXPECT_EQ(r.route(route_param("user-1"), call_to("chat"), t), "chat-3");
}

} // namespace
