#include <mailroom/metrics/registry.hpp>
// Test that header file is self-contained.

#include <mailroom/error.hpp>
#include <mailroom/metrics/json.hpp>
#include <mailroom/metrics/prometheus.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::metrics::histogram;
using mailroom::metrics::quantile_us;

TEST(histogram, BucketsAreLogScaleWithAnUnboundedLast)
{
    EXPECT_EQ(histogram::bucket_of(0), 0u);
    EXPECT_EQ(histogram::bucket_of(16), 0u);
    EXPECT_EQ(histogram::bucket_of(17), 1u);
    EXPECT_EQ(histogram::bucket_of(32), 1u);
    EXPECT_EQ(histogram::bucket_of(33), 2u);
    EXPECT_EQ(histogram::bucket_of(1'000), 6u); // 512 < 1000 <= 1024
    EXPECT_EQ(histogram::bound_us(6), 1'024u);
    EXPECT_EQ(histogram::bucket_of(histogram::bound_us(histogram::bounds - 1)), histogram::bounds - 1);
    EXPECT_EQ(histogram::bucket_of(histogram::bound_us(histogram::bounds - 1) + 1), histogram::bounds);
    EXPECT_EQ(histogram::bucket_of(UINT64_MAX), histogram::bounds);
    for (std::size_t i = 0; i < histogram::bounds; ++i) {
        EXPECT_EQ(histogram::bucket_of(histogram::bound_us(i)), i) << i;
        EXPECT_EQ(histogram::bucket_of(histogram::bound_us(i) + 1), i + 1) << i;
    }
}

TEST(histogram, RecordsRoundedUpMicrosecondsAndTheirSum)
{
    histogram h;
    h.record(1ns);        // 1 µs
    h.record(16us);       // bucket 0
    h.record(16'001ns);   // 17 µs: bucket 1
    h.record(-5ns);       // a clock that went back counts as 0
    h.record(100s);       // beyond the last bound
    const auto c = h.counts();
    EXPECT_EQ(c[0], 3u);
    EXPECT_EQ(c[1], 1u);
    EXPECT_EQ(c[histogram::bounds], 1u);
    EXPECT_EQ(h.sum_us(), 1u + 16u + 17u + 0u + 100'000'000u);
}

TEST(histogram, QuantilesInterpolateInsideTheirBucket)
{
    std::vector<std::uint64_t> none(histogram::buckets, 0);
    EXPECT_EQ(quantile_us(none, 0.5), 0.0);

    std::vector<std::uint64_t> c(histogram::buckets, 0);
    c[6] = 100; // 100 calls in (512, 1024] µs
    EXPECT_DOUBLE_EQ(quantile_us(c, 0.5), 512 + 512 * 0.5);
    EXPECT_DOUBLE_EQ(quantile_us(c, 0.99), 512 + 512 * 0.99);
    EXPECT_DOUBLE_EQ(quantile_us(c, 1.0), 1024);

    c[0] = 900; // now 90 % at or below 16 µs
    EXPECT_LE(quantile_us(c, 0.5), 16.0);
    EXPECT_GT(quantile_us(c, 0.95), 512.0);
    EXPECT_LE(quantile_us(c, 0.95), 1024.0);

    std::vector<std::uint64_t> slow(histogram::buckets, 0);
    slow[histogram::bounds] = 3; // everything beyond the last bound: reported at it
    EXPECT_EQ(quantile_us(slow, 0.5), double(histogram::bound_us(histogram::bounds - 1)));
}

TEST(histogram, ConcurrentRecordsAreAllCounted)
{
    histogram h;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i)
                h.record(std::chrono::microseconds(i % 2000));
        });
    for (auto& t : threads)
        t.join();
    std::uint64_t total = 0;
    for (auto n : h.counts())
        total += n;
    EXPECT_EQ(total, 40'000u);
}

TEST(call_stats, CountsEveryCallFromMoreThreadsThanCellsAndFromThreadsThatComeAndGo)
{
    mailroom::metrics::registry reg;
    auto* s = reg.client_method({"user", "chat", "chatRemote", "add"});
    // Two waves of more threads than there are cells of their own: the first wave's cells are
    // given back when its threads exit and taken by the second's; the rest share one.
    constexpr int per_wave = static_cast<int>(mailroom::metrics::detail::counter_cells) + 4;
    for (int wave = 0; wave < 2; ++wave) {
        std::vector<std::thread> threads;
        for (int t = 0; t < per_wave; ++t)
            threads.emplace_back([s] {
                for (int i = 0; i < 5'000; ++i) {
                    s->started();
                    s->completed({});
                }
                s->started(); // one left in flight per thread
            });
        for (auto& t : threads)
            t.join();
    }
    EXPECT_EQ(s->calls(), 2u * per_wave * 5'000);
    EXPECT_EQ(s->in_flight(), 2u * per_wave);
}

TEST(call_stats, TimesTheFirstCallsOfEachWindowPerSeriesAndThread)
{
    mailroom::metrics::registry reg({.timed_calls_per_window = 2});
    auto* s = reg.client_method({"user", "chat", "chatRemote", "add"});
    auto* other = reg.client_method({"user", "chat", "chatRemote", "get"});
    // Windows of 2^22 ns: t0 and t0b share one, t1 is the next.
    const std::chrono::steady_clock::time_point t0(std::chrono::nanoseconds(5 << 22)),
        t0b(t0 + std::chrono::nanoseconds((1 << 22) - 1)),
        t1(t0 + std::chrono::nanoseconds(1 << 22));
    EXPECT_TRUE(s->started(t0));
    EXPECT_TRUE(s->started(t0));
    EXPECT_FALSE(s->started(t0)) << "two per window";
    EXPECT_FALSE(s->started(t0b));
    EXPECT_TRUE(other->started(t0)) << "each series has its own sample";
    std::thread([s, t0] { EXPECT_TRUE(s->started(t0)) << "and each thread"; }).join();
    EXPECT_TRUE(s->started(t1)) << "the next window starts again";
    EXPECT_TRUE(s->started(t1));
    EXPECT_FALSE(s->started(t1));
    EXPECT_EQ(s->in_flight(), 8u) << "every call counted, timed or not";

    mailroom::metrics::registry none({.timed_calls_per_window = 0});
    EXPECT_FALSE(none.client_method({"user", "chat", "chatRemote", "add"})->started(t0));
}

TEST(call_stats, TimesAClientCallThatItsServersSampleTakes)
{
    // A fan-out in a fixed order: the method's sample is spent on the first servers, each
    // server's own sample still times its first call.
    mailroom::metrics::registry reg({.timed_calls_per_window = 1});
    auto* method = reg.client_method({"user", "chat", "chatRemote", "add"});
    const std::chrono::steady_clock::time_point t0(std::chrono::nanoseconds(7 << 22));
    for (const char* id : {"chat-1", "chat-2", "chat-3"}) {
        mailroom::metrics::call_meter m{method, reg.peer(id, "chat")};
        m.begin(t0);
        EXPECT_NE(m.start, std::chrono::steady_clock::time_point{}) << id;
        m.finish({});
    }
    mailroom::metrics::call_meter again{method, reg.peer("chat-2", "chat")};
    again.begin(t0);
    EXPECT_EQ(again.start, std::chrono::steady_clock::time_point{}) << "both samples spent";
    again.finish({});
    EXPECT_EQ(method->calls(), 4u);
    EXPECT_EQ(reg.peer("chat-2", "chat")->calls(), 2u);
}

TEST(registry, KeepsAMethodsSeriesInItsSlotForTheRegistryThatFoundIt)
{
    mailroom::metrics::registry reg, other;
    const mailroom::protocol::method_path add{"user", "chat", "chatRemote", "add"};
    mailroom::metrics::series_slot slot;
    auto* s = reg.client_method(add, slot);
    EXPECT_EQ(s, reg.client_method(add));
    EXPECT_EQ(s, reg.client_method(add, slot));
    // Another registry finds its own series through the same slot, and leaves the slot be.
    EXPECT_EQ(other.client_method(add, slot), other.client_method(add));
    EXPECT_EQ(reg.client_method(add, slot), s);
    const mailroom::metrics::series_slot copy = slot; // a copy starts empty
    auto copied = copy;
    EXPECT_EQ(other.client_method(add, copied), other.client_method(add));
    // A slot assigned to starts empty too: a stub assigned another stub's method (another
    // server type's, say) counts in that method's series, not the one it had.
    const mailroom::protocol::method_path gate_add{"user", "gate", "chatRemote", "add"};
    copied = mailroom::metrics::series_slot{};
    slot = copied;
    EXPECT_EQ(reg.client_method(gate_add, slot), reg.client_method(gate_add));
    EXPECT_NE(reg.client_method(gate_add, slot), s);
}

TEST(registry, CountsCallsErrorsAndInFlightPerMethod)
{
    mailroom::metrics::registry reg;
    const mailroom::protocol::method_path add{"user", "chat", "chatRemote", "add"};
    auto* s = reg.client_method(add);
    EXPECT_EQ(s, reg.client_method(add)) << "one series per method, found again without a lock";
    EXPECT_NE(s, reg.server_method(add)) << "each end has its own";
    s->started();
    s->started();
    s->started();
    s->finished(100us, {});
    s->finished(2ms, mailroom::error::timeout, "chat-1");
    EXPECT_EQ(s->calls(), 2u);
    EXPECT_EQ(s->in_flight(), 1u);

    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    ASSERT_EQ(snap.methods.size(), 1u);
    const auto& m = snap.methods[0];
    EXPECT_EQ(m.side, "client");
    EXPECT_EQ(m.method, "add");
    EXPECT_EQ(m.calls, 2u);
    EXPECT_EQ(m.errors, 1u);
    EXPECT_EQ(m.in_flight, 1u);
    EXPECT_EQ(m.errors_by_code.at("timeout"), 1u);
    EXPECT_EQ(m.latency_sum_us, 2'100u);
    EXPECT_EQ(snap.bucket_bounds_us.size(), histogram::bounds);
    ASSERT_EQ(snap.recent_errors.size(), 1u);
    EXPECT_EQ(snap.recent_errors[0].code, "timeout");
    EXPECT_EQ(snap.recent_errors[0].peer, "chat-1");
    EXPECT_EQ(snap.recent_errors[0].service, "chatRemote");
}

TEST(registry, BoundsTheSeriesAndTheErrorRing)
{
    mailroom::metrics::registry reg({.max_series = 4, .recent_errors = 3});
    std::vector<std::string> names;
    for (int i = 0; i < 10; ++i)
        names.push_back("m" + std::to_string(i));
    for (const auto& n : names) {
        auto* s = reg.client_method({"user", "t", "svc", n});
        s->started();
        s->finished(1us, std::error_code(mailroom::error::server_busy));
    }
    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    ASSERT_EQ(snap.methods.size(), 5u) << "four series, then one for the rest";
    EXPECT_EQ(snap.methods.back().method, "_other");
    EXPECT_EQ(snap.methods.back().calls, 6u);
    ASSERT_EQ(snap.recent_errors.size(), 3u) << "the ring keeps the last three";
    EXPECT_EQ(snap.recent_errors.back().method, "_other");

    // A server does not give names it does not serve a series each.
    auto* unknown = reg.server_method({"user", "t", "nope", "x"}, false);
    EXPECT_EQ(unknown, reg.server_method({"user", "t", "nope2", "y"}, false));
    EXPECT_EQ(unknown->method(), "_unknown");
    EXPECT_EQ(reg.find_server_method({"user", "t", "nope", "x"}), nullptr);
}

// What the responder does as a served call ends: asks whether it was slow, and keeps it if so.
void served(mailroom::metrics::call_stats& s, std::chrono::steady_clock::time_point began,
            std::chrono::nanoseconds timed, const mailroom::trace_context& trace,
            std::string_view peer, std::error_code ec)
{
    if (const auto took = s.slow(began, timed); took.count() != 0)
        s.report_slow(took, trace, peer, ec);
}

TEST(registry, KeepsTheSlowCallsServedWithTheirTraceIds)
{
    mailroom::metrics::registry reg({.slow_call = 20ms, .recent_slow_calls = 2});
    auto* s = reg.server_method({"user", "game", "gameRemote", "add"});
    const auto trace = mailroom::trace_context::make_root();
    const auto now = mailroom::detail::deadline_clock::now();

    served(*s, now, 25ms, trace, "connector-1", {}); // timed, and slow
    served(*s, now, 2ms, trace, "connector-1", {});  // timed, and fast
    served(*s, {}, 0ns, trace, "connector-1", {});   // not watched
    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    EXPECT_EQ(snap.slow_call_ms, 20u);
    ASSERT_EQ(snap.recent_slow_calls.size(), 1u);
    const auto& c = snap.recent_slow_calls[0];
    EXPECT_DOUBLE_EQ(c.ms, 25.0);
    EXPECT_EQ(c.code, "ok");
    EXPECT_EQ(c.peer, "connector-1");
    EXPECT_EQ(c.server_type, "game");
    EXPECT_EQ(c.service, "gameRemote");
    EXPECT_EQ(c.method, "add");
    EXPECT_EQ(c.trace_id, trace.trace_id_hex());
    EXPECT_EQ(c.span_id, trace.span_id_hex());
    EXPECT_GT(c.time_ms, 0u);

    // Not timed: the coarse clock since it arrived tells (here 50 ms ago), and the error
    // is named. The ring keeps the last two.
    served(*s, now - 50ms, 0ns, trace, "", std::error_code(mailroom::error::timeout));
    served(*s, now - 60ms, 0ns, trace, "", std::error_code(mailroom::error::remote_error));
    snap = {};
    reg.fill(snap);
    ASSERT_EQ(snap.recent_slow_calls.size(), 2u);
    EXPECT_EQ(snap.recent_slow_calls[0].code, "timeout");
    EXPECT_GE(snap.recent_slow_calls[0].ms, 50.0);
    EXPECT_EQ(snap.recent_slow_calls[1].code, "remote_error");
    EXPECT_GE(snap.recent_slow_calls[1].ms, 60.0);
}

TEST(registry, WatchesNoSlowCallsWhenTheThresholdIsZero)
{
    mailroom::metrics::registry reg({.slow_call = 0ms});
    auto* s = reg.server_method({"user", "game", "gameRemote", "add"});
    served(*s, mailroom::detail::deadline_clock::now() - 1s, 1s,
           mailroom::trace_context::make_root(), "", {});
    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    EXPECT_TRUE(snap.recent_slow_calls.empty());
    EXPECT_EQ(snap.slow_call_ms, 0u);
}

TEST(registry, CountsRefusalsByFilterAndCode)
{
    mailroom::metrics::registry reg;
    reg.refused(mailroom::metrics::side::server, "too_busy", mailroom::error::server_busy);
    reg.refused(mailroom::metrics::side::server, "too_busy", mailroom::error::server_busy);
    reg.refused(mailroom::metrics::side::client, "too_busy", mailroom::error::server_busy);
    reg.refused(mailroom::metrics::side::client, "mine", std::make_error_code(std::errc::io_error));
    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    ASSERT_EQ(snap.refusals.size(), 3u);
    EXPECT_EQ(snap.refusals[0].side, "server");
    EXPECT_EQ(snap.refusals[0].count, 2u);
    EXPECT_EQ(snap.refusals[2].code, "other");
}

TEST(registry, PeersCountTheCallsMadeToEachServer)
{
    mailroom::metrics::registry reg;
    auto* p = reg.peer("chat-1", "chat");
    EXPECT_EQ(p, reg.peer("chat-1", "chat"));
    p->started();
    p->finished(40us, mailroom::error::disconnected);
    mailroom::metrics::metrics_snapshot snap;
    reg.fill(snap);
    ASSERT_EQ(snap.peers.size(), 1u);
    EXPECT_EQ(snap.peers[0].server_id, "chat-1");
    EXPECT_EQ(snap.peers[0].calls, 1u);
    EXPECT_EQ(snap.peers[0].errors, 1u);
    EXPECT_TRUE(snap.recent_errors.empty()) << "a server's series repeats its method's call";
}

TEST(code_name, NamesEveryMailroomError)
{
    for (int v = 1; v <= static_cast<int>(mailroom::error::auth_unavailable); ++v)
        EXPECT_NE(mailroom::metrics::code_name(std::error_code(v, mailroom::error_category())),
                  "other")
            << v;
    EXPECT_EQ(mailroom::metrics::code_name(mailroom::error::timeout), "timeout");
    EXPECT_EQ(mailroom::metrics::code_name(std::make_error_code(std::errc::io_error)), "other");
}

TEST(prometheus, EscapesLabelValues)
{
    EXPECT_EQ(mailroom::metrics::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(mailroom::metrics::escape_label("plain"), "plain");
}

/// A small snapshot: two bounds instead of 22 keep the golden text readable.
mailroom::metrics::metrics_snapshot small_snapshot()
{
    mailroom::metrics::metrics_snapshot s;
    s.server_id = "game-1";
    s.server_type = "game";
    s.uptime_ms = 1'500;
    s.bucket_bounds_us = {16, 32};
    s.connections = 2;
    s.in_flight = 1;
    s.server_counters = {{"busy", 3}};
    mailroom::metrics::method_snapshot m;
    m.side = "server";
    m.ns = "user";
    m.server_type = "game";
    m.service = "gameRemote";
    m.method = "we\"ird\\name";
    m.calls = 6;
    m.errors = 1;
    m.in_flight = 1;
    m.errors_by_code = {{"remote_error", 1}};
    m.buckets = {1, 2, 3};
    m.latency_sum_us = 250;
    s.methods.push_back(m);
    mailroom::metrics::peer_snapshot p;
    p.server_id = "chat-1";
    p.server_type = "chat";
    p.state = "open";
    p.queue_depth = 4;
    p.queued_bytes = 512;
    p.reconnects = 1;
    p.calls = 9;
    p.errors = 2;
    s.peers.push_back(p);
    s.refusals.push_back({"server", "too_busy", "server_busy", 7});
    s.recent_slow_calls.push_back({.time_ms = 1'000, .ms = 120.5, .code = "ok", .peer = "connector-1",
                                   .server_type = "game", .service = "gameRemote", .method = "add",
                                   .trace_id = std::string(32, 'a'), .span_id = std::string(16, 'b')});
    s.slow_call_ms = 100;
    return s;
}

TEST(prometheus, WritesTheTextExpositionFormat)
{
    std::string out;
    mailroom::metrics::write_prometheus(small_snapshot(), out);
    const std::string golden = R"(# HELP mailroom_info This server: always 1, its id and type as labels.
# TYPE mailroom_info gauge
mailroom_info{server_id="game-1",server_type="game"} 1
# HELP mailroom_uptime_seconds Time since the App started.
# TYPE mailroom_uptime_seconds gauge
mailroom_uptime_seconds 1.5
# HELP mailroom_client_calls_total Calls this server made that completed, by method.
# TYPE mailroom_client_calls_total counter
# HELP mailroom_client_errors_total Calls this server made that failed, by method and error code.
# TYPE mailroom_client_errors_total counter
# HELP mailroom_client_in_flight Calls this server made that have not completed, by method.
# TYPE mailroom_client_in_flight gauge
# HELP mailroom_client_latency_seconds Time from making a call to its completion, by method.
# TYPE mailroom_client_latency_seconds histogram
# HELP mailroom_server_calls_total Calls this server answered, by method.
# TYPE mailroom_server_calls_total counter
mailroom_server_calls_total{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name"} 6
# HELP mailroom_server_errors_total Calls this server answered with an error, by method and error code.
# TYPE mailroom_server_errors_total counter
mailroom_server_errors_total{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name",code="remote_error"} 1
# HELP mailroom_server_in_flight Calls this server is serving now, by method.
# TYPE mailroom_server_in_flight gauge
mailroom_server_in_flight{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name"} 1
# HELP mailroom_server_latency_seconds Time from receiving a call to sending its answer, by method.
# TYPE mailroom_server_latency_seconds histogram
mailroom_server_latency_seconds_bucket{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name",le="1.6e-05"} 1
mailroom_server_latency_seconds_bucket{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name",le="3.2e-05"} 3
mailroom_server_latency_seconds_bucket{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name",le="+Inf"} 6
mailroom_server_latency_seconds_sum{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name"} 0.00025
mailroom_server_latency_seconds_count{ns="user",server_type="game",service="gameRemote",method="we\"ird\\name"} 6
# HELP mailroom_peer_calls_total Calls this server made to each server, completed.
# TYPE mailroom_peer_calls_total counter
mailroom_peer_calls_total{server_id="chat-1",server_type="chat"} 9
# HELP mailroom_peer_errors_total Calls this server made to each server that failed.
# TYPE mailroom_peer_errors_total counter
mailroom_peer_errors_total{server_id="chat-1",server_type="chat"} 2
# HELP mailroom_mailbox_state The state of the mail box to each server: 1 for its current state.
# TYPE mailroom_mailbox_state gauge
mailroom_mailbox_state{server_id="chat-1",server_type="chat",state="open"} 1
# HELP mailroom_mailbox_queue_depth Calls waiting for a response or the link, plus queued notifies, per server.
# TYPE mailroom_mailbox_queue_depth gauge
mailroom_mailbox_queue_depth{server_id="chat-1",server_type="chat"} 4
# HELP mailroom_mailbox_queued_bytes Bytes queued while connecting and unsent on the link, per server.
# TYPE mailroom_mailbox_queued_bytes gauge
mailroom_mailbox_queued_bytes{server_id="chat-1",server_type="chat"} 512
# HELP mailroom_mailbox_reconnects_total Links opened to each server after the first one.
# TYPE mailroom_mailbox_reconnects_total counter
mailroom_mailbox_reconnects_total{server_id="chat-1",server_type="chat"} 1
# HELP mailroom_server_connections Connections open to this server.
# TYPE mailroom_server_connections gauge
mailroom_server_connections 2
# HELP mailroom_server_calls_in_flight Calls this server is serving now.
# TYPE mailroom_server_calls_in_flight gauge
mailroom_server_calls_in_flight 1
# HELP mailroom_server_refusals_total Calls and links the server refused or failed, by reason.
# TYPE mailroom_server_refusals_total counter
mailroom_server_refusals_total{reason="busy"} 3
# HELP mailroom_filter_refusals_total Calls a filter refused, by end, filter and error code.
# TYPE mailroom_filter_refusals_total counter
mailroom_filter_refusals_total{side="server",filter="too_busy",code="server_busy"} 7
)";
    EXPECT_EQ(out, golden);
}

TEST(json, CarriesEverySnapshotField)
{
    const auto j = nlohmann::json::parse(mailroom::metrics::to_json(small_snapshot()));
    EXPECT_EQ(j.at("server_id"), "game-1");
    EXPECT_EQ(j.at("methods").at(0).at("method"), "we\"ird\\name");
    EXPECT_EQ(j.at("methods").at(0).at("errors_by_code").at("remote_error"), 1);
    EXPECT_EQ(j.at("peers").at(0).at("state"), "open");
    EXPECT_EQ(j.at("refusals").at(0).at("count"), 7);
    EXPECT_TRUE(j.at("recent_errors").is_array());
    EXPECT_EQ(j.at("recent_slow_calls").at(0).at("trace_id"), std::string(32, 'a'));
    EXPECT_EQ(j.at("recent_slow_calls").at(0).at("span_id"), std::string(16, 'b'));
    EXPECT_EQ(j.at("recent_slow_calls").at(0).at("ms"), 120.5);
    EXPECT_EQ(j.at("recent_slow_calls").at(0).at("peer"), "connector-1");
    EXPECT_EQ(j.at("slow_call_ms"), 100);
}

TEST(json, ReplacesNamesThatAreNotUtf8)
{
    auto s = small_snapshot();
    s.methods[0].method = std::string("bad\xff\xfe", 5);
    EXPECT_NO_THROW(nlohmann::json::parse(mailroom::metrics::to_json(s)));
}

} // namespace
