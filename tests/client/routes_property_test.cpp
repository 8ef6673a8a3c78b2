#include <mailroom/client/route_context.hpp>
// Test that header file is self-contained.

#include <mailroom/client/router.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/server_info.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Properties of the built-in routes, measured over many calls or keys: shares within 5 % of
// the weights, the fraction of keys a membership change moves, fairness under load, and
// agreement with pomelo's `df`. The figures are printed (docs/routing.md quotes them).

namespace {

using mailroom::route_context;
using mailroom::route_param;
using mailroom::server_info;
using mailroom::server_table;
namespace routes = mailroom::routes;

mailroom::protocol::method_path call_to(std::string_view type)
{
    return {.ns = "user", .server_type = type, .service = "remote", .method = "m"};
}

server_info server(std::string id, std::string type = "area", int weight = 1)
{
    return {.id = std::move(id), .server_type = std::move(type), .host = "127.0.0.1", .port = 1,
            .weight = weight};
}

/// `n` servers of type "area": area-00, area-01, ...
std::vector<server_info> servers(std::size_t n)
{
    std::vector<server_info> out;
    for (std::size_t i = 0; i < n; ++i) {
        char id[32]; // room for any size_t: g++ checks the format against the widest value
        std::snprintf(id, sizeof id, "area-%02zu", i);
        out.push_back(server(id));
    }
    return out;
}

/// Calls per server id of `calls` keyless calls to "area".
std::map<std::string, std::size_t> count_calls(const mailroom::route_function& f,
                                               const route_context& ctx, std::size_t calls)
{
    std::map<std::string, std::size_t> got;
    for (std::size_t i = 0; i < calls; ++i)
        ++got[f(route_param(), call_to("area"), ctx)];
    return got;
}

/** The largest relative error of the shares in `got` against `expected` (weights; each
    server's expected share is its weight over the sum).
*/
double worst_error(const std::map<std::string, std::size_t>& got,
                   const std::map<std::string, double>& expected)
{
    double total = 0, weights = 0, worst = 0;
    for (const auto& [id, n] : got)
        total += static_cast<double>(n);
    for (const auto& [id, w] : expected)
        weights += w;
    for (const auto& [id, w] : expected) {
        const auto it = got.find(id);
        const double share = it == got.end() ? 0 : static_cast<double>(it->second) / total;
        worst = std::max(worst, std::abs(share - w / weights) / (w / weights));
    }
    return worst;
}

std::map<std::string, double> even(const std::vector<server_info>& list)
{
    std::map<std::string, double> out;
    for (const auto& s : list)
        out[s.id] = 1;
    return out;
}

// --- weighted_round_robin ------------------------------------------------------------------

TEST(WeightedRoundRobin, FollowsNginxSmoothSequence)
{
    const server_table t({server("a", "area", 5), server("b", "area", 1), server("c", "area", 1)});
    const auto f = routes::weighted_round_robin();
    std::string seq;
    for (int i = 0; i < 14; ++i)
        seq += f(route_param(), call_to("area"), t);
    // nginx's documented order for weights 5, 1, 1, twice: spread out, never a burst of five.
    EXPECT_EQ(seq, "aabacaaaabacaa");
}

TEST(WeightedRoundRobin, SharesFollowWeightsWithinFivePercentOver100kCalls)
{
    std::vector<server_info> list{server("w1", "area", 1), server("w2", "area", 2),
                                  server("w3", "area", 3), server("w7", "area", 7),
                                  server("w10", "area", 10), server("default")};
    const server_table t(list);
    const auto got = count_calls(routes::weighted_round_robin(), t, 100'000);
    const std::map<std::string, double> weights{{"w1", 1},  {"w2", 2},  {"w3", 3},
                                                {"w7", 7},  {"w10", 10}, {"default", 1}};
    const double err = worst_error(got, weights);
    std::printf("weighted_round_robin: worst share error over 100k calls: %.4f%%\n", err * 100);
    EXPECT_LE(err, 0.05);
}

TEST(WeightedRoundRobin, WeightZeroTakesNothingUnlessEveryServerHasIt)
{
    const server_table some({server("a", "area", 0), server("b", "area", 2), server("c")});
    const auto f = routes::weighted_round_robin();
    const auto got = count_calls(f, some, 3'000);
    EXPECT_EQ(got.count("a"), 0u);
    EXPECT_EQ(got.at("b"), 2'000u);
    EXPECT_EQ(got.at("c"), 1'000u);

    const server_table none({server("a", "area", 0), server("b", "area", 0)});
    const auto all_zero = count_calls(f, none, 1'000);
    EXPECT_EQ(all_zero.at("a"), 500u);
    EXPECT_EQ(all_zero.at("b"), 500u);
}

TEST(WeightedRoundRobin, HugeWeightsAreScaledAndEveryServerStays)
{
    const server_table t({server("big", "area", 1'000'000), server("small", "area", 1),
                          server("mid", "area", 999'983)});
    const auto got = count_calls(routes::weighted_round_robin(), t, 200'000);
    EXPECT_GT(got.at("small"), 0u);
    EXPECT_NEAR(static_cast<double>(got.at("big")) / static_cast<double>(got.at("mid")), 1.0,
                0.01);
}

TEST(WeightedRoundRobin, FollowsTheTableWhenItChanges)
{
    const auto f = routes::weighted_round_robin();
    const server_table before({server("a", "area", 3), server("b", "area", 1)});
    EXPECT_EQ(count_calls(f, before, 400).at("a"), 300u);
    const server_table after({server("a", "area", 1), server("b", "area", 1)});
    ASSERT_NE(before.version(), after.version());
    EXPECT_EQ(count_calls(f, after, 400).at("a"), 200u);
}

TEST(WeightedRoundRobin, KeepsOneScheduleForEachType)
{
    const server_table t({server("a", "area", 2), server("b", "area", 1), server("c1", "chat"),
                          server("c2", "chat")});
    const auto f = routes::weighted_round_robin();
    std::map<std::string, int> got;
    for (int i = 0; i < 600; ++i) {
        ++got[f(route_param(), call_to("area"), t)];
        ++got[f(route_param(), call_to("chat"), t)];
    }
    EXPECT_EQ(got["a"], 400);
    EXPECT_EQ(got["b"], 200);
    EXPECT_EQ(got["c1"], 300);
    EXPECT_EQ(got["c2"], 300);
    EXPECT_EQ(f(route_param(), call_to("gate"), t), "");
}

TEST(WeightedRoundRobin, ThreadsShareTheScheduleExactly)
{
    const server_table t({server("a", "area", 3), server("b", "area", 1)});
    const auto f = routes::weighted_round_robin();
    std::vector<std::map<std::string, int>> per(4);
    std::vector<std::thread> threads;
    for (auto& m : per)
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i)
                ++m[f(route_param(), call_to("area"), t)];
        });
    for (auto& th : threads)
        th.join();
    int a = 0, b = 0;
    for (auto& m : per) {
        a += m["a"];
        b += m["b"];
    }
    EXPECT_EQ(a, 30'000); // 40,000 calls: exactly ten thousand periods of a a b a
    EXPECT_EQ(b, 10'000);
}

// --- random, round_robin: uniform ----------------------------------------------------------

TEST(UniformRoutes, RandomAndRoundRobinShareEvenlyWithinFivePercentOver100kCalls)
{
    const auto list = servers(10);
    const server_table t(list);
    const double rr = worst_error(count_calls(routes::round_robin(), t, 100'000), even(list));
    const double rd = worst_error(count_calls(routes::random(), t, 100'000), even(list));
    std::printf("round_robin: worst share error %.4f%%; random: %.4f%% (10 servers, 100k calls)\n",
                rr * 100, rd * 100);
    EXPECT_EQ(rr, 0.0);
    EXPECT_LE(rd, 0.05);
}

// --- least_active --------------------------------------------------------------------------

/// Loads set by the test, per server id.
struct fake_loads final : mailroom::load_source {
    std::map<std::string, std::size_t> load;
    std::set<std::string> down_ids;
    std::size_t in_flight(const server_info& s) const noexcept override
    {
        const auto it = load.find(s.id);
        return it == load.end() ? 0 : it->second;
    }
    bool down(const server_info& s) const noexcept override { return down_ids.count(s.id) != 0; }
};

TEST(DownServers, SpreadingRoutesSkipThemEvenlyAndHashesKeepTheirMapping)
{
    const auto list = servers(4);
    const server_table t(list);
    fake_loads loads;
    loads.down_ids = {"area-01"};
    const route_context ctx(t, loads);
    EXPECT_TRUE(ctx.down(*t.find("area-01")));
    EXPECT_FALSE(ctx.down(*t.find("area-00")));
    const std::map<std::string, double> three_up = {
        {"area-00", 1.0}, {"area-02", 1.0}, {"area-03", 1.0}};
    for (const auto& [name, f] :
         std::vector<std::pair<std::string, mailroom::route_function>>{
             {"random", routes::random()},
             {"round_robin", routes::round_robin()},
             {"weighted_round_robin", routes::weighted_round_robin()},
             {"least_active", routes::least_active()}}) {
        SCOPED_TRACE(name);
        const auto got = count_calls(f, ctx, 30'000);
        EXPECT_EQ(got.count("area-01"), 0u) << "a down server gets no call";
        EXPECT_LE(worst_error(got, three_up), 0.05) << "its share is spread evenly";
    }
    // hash keeps a key on its server (the call fails at once; a failover policy moves it).
    const auto h = routes::hash();
    const server_table up_table(list);
    for (int k = 0; k < 200; ++k) {
        const std::string key = "user-" + std::to_string(k); // route_param only views it
        const route_param p(key);
        EXPECT_EQ(h(p, call_to("area"), ctx), h(p, call_to("area"), route_context(up_table)));
    }
    // Every server down: the routes still name one (its calls fail fast with its error).
    loads.down_ids = {"area-00", "area-01", "area-02", "area-03"};
    EXPECT_NE(routes::random()(route_param(), call_to("area"), ctx), "");
    EXPECT_NE(routes::least_active()(route_param(), call_to("area"), ctx), "");
}

TEST(LeastActive, PicksTheServerWithFewestCallsInFlight)
{
    const auto list = servers(4);
    const server_table t(list);
    fake_loads loads;
    loads.load = {{"area-00", 5}, {"area-01", 2}, {"area-02", 9}, {"area-03", 3}};
    const route_context ctx(t, loads);
    EXPECT_TRUE(ctx.has_load());
    EXPECT_EQ(ctx.in_flight(*t.find("area-02")), 9u);
    const auto f = routes::least_active();
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(f(route_param("k"), call_to("area"), ctx), "area-01");
    EXPECT_EQ(f(route_param(), call_to("chat"), ctx), "");
}

TEST(LeastActive, SplitsTiesEvenlyWithinFivePercentOver100kCalls)
{
    const auto list = servers(5);
    const server_table t(list);
    fake_loads loads;
    // area-00 and area-04 are loaded; the three in the middle are tied at 1. A rotating
    // start would give area-01 (after the loaded area-00) two shares out of three.
    loads.load = {{"area-00", 4}, {"area-01", 1}, {"area-02", 1}, {"area-03", 1}, {"area-04", 2}};
    const auto got = count_calls(routes::least_active(), route_context(t, loads), 100'000);
    EXPECT_EQ(got.count("area-00"), 0u);
    EXPECT_EQ(got.count("area-04"), 0u);
    const double err =
        worst_error(got, {{"area-01", 1.0}, {"area-02", 1.0}, {"area-03", 1.0}});
    std::printf("least_active: worst share error among 3 tied servers: %.4f%%\n", err * 100);
    EXPECT_LE(err, 0.05);
}

TEST(LeastActive, WithoutLoadIsUniform)
{
    const auto list = servers(4);
    const server_table t(list);
    const double err = worst_error(count_calls(routes::least_active(), t, 100'000), even(list));
    EXPECT_LE(err, 0.05);
}

// --- consistent_hash -----------------------------------------------------------------------

/// The server of each of `keys` keys ("user-0", ...) on `t`.
std::vector<std::string> place(const mailroom::route_function& f, const server_table& t,
                               std::size_t keys)
{
    std::vector<std::string> out;
    out.reserve(keys);
    for (std::size_t k = 0; k < keys; ++k)
        out.push_back(f(route_param("user-" + std::to_string(k)), call_to("area"), t));
    return out;
}

TEST(ConsistentHash, SameKeySameServerAcrossInstances)
{
    const server_table t(servers(7));
    const auto a = routes::consistent_hash();
    const auto b = routes::consistent_hash();
    EXPECT_EQ(place(a, t, 1'000), place(b, t, 1'000));
    // A number is its decimal string, as for routes::hash().
    EXPECT_EQ(a(route_param(12345), call_to("area"), t), a(route_param("12345"), call_to("area"), t));
    EXPECT_EQ(a(route_param(-7), call_to("area"), t), a(route_param("-7"), call_to("area"), t));
    EXPECT_EQ(a(route_param("x"), call_to("chat"), t), "");
}

TEST(ConsistentHash, DoesNotDependOnInsertionOrder)
{
    auto list = servers(9);
    const server_table a(list);
    std::reverse(list.begin(), list.end());
    const server_table b(list);
    const auto f = routes::consistent_hash();
    EXPECT_EQ(place(f, a, 2'000), place(f, b, 2'000));
}

/** Spread of keys over N servers, for the default 160 virtual nodes (100k keys) and for
    4,096 (1M keys, so that sampling noise, ~0.4 % at N = 20, does not hide the ring's): the
    ring's spread shrinks as 1/sqrt(virtual nodes).
*/
TEST(ConsistentHash, SpreadsKeysOverServers)
{
    for (unsigned vnodes : {160u, 4096u}) {
        for (std::size_t n : {5u, 10u, 20u}) {
            const auto list = servers(n);
            const server_table t(list);
            const auto f = routes::consistent_hash({.virtual_nodes = vnodes});
            const std::size_t keys = vnodes == 160 ? 100'000 : 1'000'000;
            std::map<std::string, std::size_t> got;
            for (const auto& id : place(f, t, keys))
                ++got[id];
            const double err = worst_error(got, even(list));
            std::printf("consistent_hash: %u virtual nodes, N=%zu, %zu keys: worst share error "
                        "%.2f%%\n",
                        vnodes, n, keys, err * 100);
            EXPECT_EQ(got.size(), n);
            // 160 points: a share's relative spread is ~1/sqrt(160) = 8 %; 4,096: ~1.6 %.
            EXPECT_LE(err, vnodes == 160 ? 0.30 : 0.05) << vnodes << " " << n;
        }
    }
}

/// The fraction of `before` whose server differs in `after`.
double moved(const std::vector<std::string>& before, const std::vector<std::string>& after)
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < before.size(); ++i)
        n += before[i] != after[i];
    return static_cast<double>(n) / static_cast<double>(before.size());
}

TEST(ConsistentHash, AddingOrRemovingOneOfNServersMovesAboutOneNth)
{
    constexpr std::size_t keys = 100'000;
    for (std::size_t n : {5u, 10u, 20u}) {
        const auto list = servers(n);
        const server_table t(list);
        const auto f = routes::consistent_hash();
        const auto base = place(f, t, keys);

        // Remove one server: only its keys move.
        auto fewer = list;
        fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(n / 2));
        const auto removed_id = list[n / 2].id;
        const auto after_remove = place(f, server_table(fewer), keys);
        for (std::size_t k = 0; k < keys; ++k)
            if (base[k] != removed_id) {
                ASSERT_EQ(after_remove[k], base[k]) << "key " << k << " moved needlessly";
            }
        const double remove_fraction = moved(base, after_remove);

        // Add one server: only keys that now go to it move.
        auto more = list;
        more.push_back(server("area-new"));
        const auto after_add = place(f, server_table(more), keys);
        for (std::size_t k = 0; k < keys; ++k)
            if (after_add[k] != "area-new") {
                ASSERT_EQ(after_add[k], base[k]) << "key " << k << " moved needlessly";
            }
        const double add_fraction = moved(base, after_add);

        std::printf("consistent_hash N=%zu: remove one moves %.4f, add one moves %.4f "
                    "(1/N = %.4f, 1/(N+1) = %.4f)\n",
                    n, remove_fraction, add_fraction, 1.0 / double(n), 1.0 / double(n + 1));
        EXPECT_LE(remove_fraction, 1.5 / double(n));
        EXPECT_LE(add_fraction, 1.5 / double(n + 1));
        EXPECT_GT(remove_fraction, 0.0);
        EXPECT_GT(add_fraction, 0.0);

        // For contrast, pomelo's df (crc32 % n) moves most keys.
        const auto df = routes::hash();
        const double df_fraction = moved(place(df, t, keys), place(df, server_table(more), keys));
        std::printf("hash (df) N=%zu: add one moves %.4f\n", n, df_fraction);
    }
}

TEST(ConsistentHash, KeyOfPicksTheKeyFromAnObject)
{
    struct session {
        std::string room;
    };
    const server_table t(servers(6));
    const auto by_room = routes::consistent_hash(
        {.key_of = [](const route_param& p) -> std::optional<std::string> {
            if (const auto* s = p.get<session>())
                return s->room;
            return std::nullopt;
        }});
    const auto plain = routes::consistent_hash();
    for (int i = 0; i < 200; ++i) {
        const session s{"room-" + std::to_string(i)};
        EXPECT_EQ(by_room(route_param::of(s), call_to("area"), t),
                  plain(route_param(s.room), call_to("area"), t));
    }
    // No key: round robin over the type.
    std::map<std::string, int> got;
    for (int i = 0; i < 60; ++i)
        ++got[by_room(route_param("ignored"), call_to("area"), t)];
    EXPECT_EQ(got.size(), 6u);
    for (const auto& [id, n] : got)
        EXPECT_EQ(n, 10) << id;
}

TEST(ConsistentHash, ThreadsAgreeWhileTheTableChanges)
{
    // Two tables alternate under four threads: each answer must be that table's own.
    const server_table a(servers(5));
    const server_table b(servers(8));
    const auto f = routes::consistent_hash();
    const auto expect_a = place(routes::consistent_hash(), a, 500);
    const auto expect_b = place(routes::consistent_hash(), b, 500);
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int th = 0; th < 4; ++th)
        threads.emplace_back([&, th] {
            for (int round = 0; round < 20; ++round) {
                const bool use_a = (round + th) % 2 == 0;
                const auto got = place(f, use_a ? a : b, 500);
                if (got != (use_a ? expect_a : expect_b))
                    ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
}

// --- hash: pomelo's df ---------------------------------------------------------------------

/// CRC-32 (IEEE, reflected, as node's `crc` package computes it), bit by bit: independent of
/// mailroom's table-driven one.
std::uint32_t crc32_bitwise(std::string_view s)
{
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char ch : s) {
        c ^= ch;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/// pomelo's defaultRoute: `Math.abs(crc.crc32(uid.toString())) % list.length`, where the
/// crc is a signed 32-bit number.
std::size_t pomelo_df(std::string_view uid, std::size_t n)
{
    const auto signed_crc = static_cast<std::int64_t>(static_cast<std::int32_t>(crc32_bitwise(uid)));
    return static_cast<std::size_t>(std::llabs(signed_crc)) % n;
}

TEST(HashRoutePomelo, AgreesWithPomeloDfOnATableOfUids)
{
    // Known values: crc32("123456789") is the standard check value 0xCBF43926.
    ASSERT_EQ(crc32_bitwise("123456789"), 0xCBF43926u);
    const auto f = routes::hash();
    for (std::size_t n = 1; n <= 12; ++n) {
        const auto list = servers(n);
        const server_table t(list);
        auto ids = list;
        std::sort(ids.begin(), ids.end(), [](auto& x, auto& y) { return x.id < y.id; });
        for (std::uint64_t uid : {0ull, 1ull, 7ull, 42ull, 1000ull, 12345ull, 123456789ull,
                                  4294967295ull, 10000000019ull}) {
            const std::string text = std::to_string(uid);
            EXPECT_EQ(f(route_param(uid), call_to("area"), t), ids[pomelo_df(text, n)].id)
                << uid << " over " << n;
        }
        for (int i = 0; i < 300; ++i) {
            const std::string uid = "uid-" + std::to_string(i * 7919);
            EXPECT_EQ(f(route_param(uid), call_to("area"), t), ids[pomelo_df(uid, n)].id)
                << uid << " over " << n;
        }
    }
}

// --- route_context -------------------------------------------------------------------------

TEST(RouteContext, VersionChangesWithEveryTable)
{
    const server_table a(servers(3));
    const server_table b(servers(3));
    const server_table empty;
    EXPECT_NE(a.version(), 0u);
    EXPECT_NE(a.version(), b.version());
    EXPECT_NE(empty.version(), a.version());
    const route_context ctx(a);
    EXPECT_EQ(ctx.version(), a.version());
    EXPECT_FALSE(ctx.has_load());
    EXPECT_EQ(ctx.in_flight(*a.find("area-01")), 0u);
    EXPECT_EQ(&static_cast<const server_table&>(ctx), &a);
    EXPECT_EQ(ctx.of_type("area").size(), 3u);
}

} // namespace
