#include "transports/conformance.hpp"
// Test that header file is self-contained.

// The conformance suite, part 2: end to end, proxy -> router -> mail station -> the
// transport -> server -> dispatcher and back. Part 1 is conformance_contract.cpp.

#include "transports/cluster.hpp"

#include "support/wait.hpp"

#include <mailroom/protocol/codec.hpp>

#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mailroom::error;
using mailroom::test::cluster;
using mailroom::test::wait;
namespace asio = boost::asio;

mailroom::protocol::method_path echo_path(std::string_view service, std::string_view method)
{
    return {.server_type = "echo", .service = service, .method = method};
}

/// Calls echoRemote.add(a, b) and returns a future of (error, sum).
std::future<std::tuple<std::error_code, int>> add(cluster& c, int a, int b,
                                                  mailroom::call_options o = {})
{
    return c.rpc->async_call<int>(echo_path("echoRemote", "add"), "key", std::tuple{a, b}, o,
                                  asio::use_future);
}

std::vector<char> body_of(mailroom::frame& f)
{
    auto b = f.body();
    return {b.begin(), b.end()};
}

std::vector<char> hello_body(std::string_view id = "raw")
{
    mailroom::frame f;
    mailroom::protocol::encode_hello(f, id);
    return body_of(f);
}

/// Reads until the server closes the link; false if it keeps sending instead.
bool server_closes(mailroom::test::raw_link& link)
{
    for (int i = 0; i < 16; ++i)
        if (!link.receive())
            return true;
    return false;
}

// --- End to end: proxy -> router -> mail station -> transport -> server -> dispatcher.

TEST_P(transport_conformance, TenThousandConcurrentCallsAllReturnTheirOwnResult)
{
    cluster c(transport());
    c.start_server();
    constexpr int n = 10'000;
    std::vector<int> results(n, -1);
    std::vector<std::error_code> errors(n);
    std::atomic<int> done{0};
    std::promise<void> all;
    for (int i = 0; i < n; ++i) {
        c.rpc->async_call<int>(echo_path("echoRemote", "add"), i, std::tuple{i, i},
                               [&, i](std::error_code ec, int sum) {
                                   errors[i] = ec;
                                   results[i] = sum;
                                   if (++done == n)
                                       all.set_value();
                               });
    }
    auto f = all.get_future();
    wait(f);
    for (int i = 0; i < n; ++i) {
        ASSERT_FALSE(errors[i]) << "call " << i << ": " << errors[i].message();
        ASSERT_EQ(results[i], 2 * i) << "call " << i;
    }
}

TEST_P(transport_conformance, LargeMessagesCrossIntactBetweenSmallOnes)
{
    cluster c(transport());
    c.start_server();
    std::vector<std::future<std::tuple<std::error_code, std::string>>> big;
    std::vector<std::future<std::tuple<std::error_code, int>>> small;
    for (std::size_t size : {1u << 20, 3u << 20, 64u << 10, 1u << 20}) {
        std::string s(size, '\0');
        for (std::size_t i = 0; i < s.size(); ++i)
            s[i] = static_cast<char>('a' + (i * 7 + size) % 26);
        big.push_back(c.rpc->async_call<std::string>(echo_path("echoRemote", "echo"), "k",
                                                     std::tuple{s}, asio::use_future));
        for (int i = 0; i < 20; ++i)
            small.push_back(add(c, i, 1));
    }
    std::size_t k = 0;
    for (std::size_t size : {1u << 20, 3u << 20, 64u << 10, 1u << 20}) {
        auto [ec, s] = wait(big[k++]);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(s.size(), size);
        for (std::size_t i = 0; i < s.size(); ++i)
            ASSERT_EQ(s[i], static_cast<char>('a' + (i * 7 + size) % 26)) << "byte " << i;
    }
    for (std::size_t i = 0; i < small.size(); ++i)
        EXPECT_EQ(wait(small[i]), std::make_tuple(std::error_code{}, static_cast<int>(i % 20) + 1));
}

TEST_P(transport_conformance, NotifiesAndCallsArriveInTheOrderTheyWereMade)
{
    cluster c(transport());
    std::mutex mu;
    std::vector<int> seen;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add("seq", "n", [&](int n) {
            std::lock_guard lock(mu);
            seen.push_back(n);
        });
        d.add("seq", "count", [&] {
            std::lock_guard lock(mu);
            return seen.size();
        });
    };
    c.start_server();
    constexpr int n = 2000;
    for (int i = 0; i < n; ++i)
        c.rpc->async_notify(echo_path("seq", "n"), "k", std::tuple{i}, [](std::error_code) {});
    // Handlers without an executor run on the connection's strand, in arrival order.
    auto count = c.rpc->async_call<std::size_t>(echo_path("seq", "count"), "k", std::tuple{},
                                                asio::use_future);
    EXPECT_EQ(wait(count), std::make_tuple(std::error_code{}, std::size_t{n}));
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), std::size_t{n});
    for (int i = 0; i < n; ++i)
        ASSERT_EQ(seen[i], i);
}

TEST_P(transport_conformance, StoppingTheServerFailsEveryInFlightCallOnceWithDisconnected)
{
    cluster c(transport());
    std::mutex mu;
    std::vector<mailroom::responder> held; // the server never answers these
    std::promise<void> all_arrived;
    constexpr int n = 100;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add_raw("user", "echoRemote", "hang",
                  [&](const mailroom::call_context&, const mailroom::value_view&, mailroom::responder r) {
                      std::lock_guard lock(mu);
                      held.push_back(std::move(r));
                      if (held.size() == n)
                          all_arrived.set_value();
                  });
    };
    c.start_server();
    std::atomic<int> completions{0}, disconnected{0};
    std::promise<void> all_done;
    for (int i = 0; i < n; ++i)
        c.rpc->async_call<int>(echo_path("echoRemote", "hang"), i, std::tuple{},
                               [&](std::error_code ec, int) {
                                   disconnected += (ec == error::disconnected);
                                   if (++completions == n)
                                       all_done.set_value();
                               });
    auto arrived = all_arrived.get_future();
    wait(arrived);
    c.stop_server();
    auto done = all_done.get_future();
    wait(done);
    EXPECT_EQ(disconnected.load(), n);
    EXPECT_EQ(completions.load(), n) << "each call completes exactly once";
    std::lock_guard lock(mu);
    held.clear();
}

TEST_P(transport_conformance, RemoteFailuresArriveAsNamedErrors)
{
    cluster c(transport());
    c.start_server();
    auto unknown_method = c.rpc->async_call(echo_path("echoRemote", "nope"), "k", std::tuple{},
                                            asio::use_future);
    auto unknown_service = c.rpc->async_call(echo_path("nobody", "echo"), "k", std::tuple{},
                                             asio::use_future);
    auto bad_args = c.rpc->async_call(echo_path("echoRemote", "add"), "k",
                                      std::tuple{std::string("x"), 1}, asio::use_future);
    auto bad_count = c.rpc->async_call(echo_path("echoRemote", "add"), "k", std::tuple{1},
                                       asio::use_future);
    auto thrown = c.rpc->async_call(echo_path("echoRemote", "fail"), "k",
                                    std::tuple{std::string("out of gold")}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(unknown_method)), error::unknown_method);
    EXPECT_EQ(std::get<0>(wait(unknown_service)), error::unknown_service);
    EXPECT_EQ(std::get<0>(wait(bad_args)), error::bad_arguments);
    EXPECT_EQ(std::get<0>(wait(bad_count)), error::bad_arguments);
    auto [ec, r] = wait(thrown);
    EXPECT_EQ(ec, error::remote_error);
    EXPECT_EQ(r.error_message(), "out of gold");
}

TEST_P(transport_conformance, AnOversizedFrameClosesOnlyThatConnection)
{
    cluster c(transport());
    c.start_server();
    auto before = add(c, 1, 2);
    EXPECT_EQ(wait(before), std::make_tuple(std::error_code{}, 3));

    auto raw = transport().connect_raw(c.ioc, c.address());
    raw->send_body(hello_body());
    raw->send_oversized(c.server_max_frame_size);
    EXPECT_TRUE(server_closes(*raw));

    auto after = add(c, 2, 3);
    EXPECT_EQ(wait(after), std::make_tuple(std::error_code{}, 5)) << "other clients still served";
}

TEST_P(transport_conformance, GarbageClosesOnlyThatConnection)
{
    cluster c(transport());
    c.start_server();
    auto before = add(c, 1, 2);
    EXPECT_EQ(wait(before), std::make_tuple(std::error_code{}, 3));

    { // a body that is no message at all
        auto raw = transport().connect_raw(c.ioc, c.address());
        const char junk[] = {'\xc1', '\xc1', '\xc1'};
        raw->send_body(junk);
        EXPECT_TRUE(server_closes(*raw));
    }
    { // a hello, then a malformed message
        auto raw = transport().connect_raw(c.ioc, c.address());
        raw->send_body(hello_body());
        const char junk[] = {'\x91', '\xc1'};
        raw->send_body(junk);
        EXPECT_TRUE(server_closes(*raw));
    }
    { // a request before the hello
        auto raw = transport().connect_raw(c.ioc, c.address());
        mailroom::frame f;
        mailroom::protocol::encode_request(f, 1, echo_path("echoRemote", "add"), std::tuple{1, 2});
        raw->send_body(body_of(f));
        EXPECT_TRUE(server_closes(*raw));
    }
    auto probe = transport().connect_raw(c.ioc, c.address());
    for (int i = 0; i < probe->garbage_cases(); ++i) { // the transport's own framing broken
        auto raw = transport().connect_raw(c.ioc, c.address());
        raw->send_garbage(i);
        EXPECT_TRUE(server_closes(*raw)) << "garbage case " << i;
    }

    auto after = add(c, 2, 3);
    EXPECT_EQ(wait(after), std::make_tuple(std::error_code{}, 5)) << "other clients still served";
}

TEST_P(transport_conformance, AServerRefusingTheProtocolVersionSaysSoBeforeClosing)
{
    cluster c(transport());
    c.start_server();
    auto raw = transport().connect_raw(c.ioc, c.address());
    // hello with version 99: [6, 99, "future"]
    const char hello[] = {'\x93', '\x06', '\x63', '\xa6', 'f', 'u', 't', 'u', 'r', 'e'};
    raw->send_body(hello);
    auto body = raw->receive();
    ASSERT_TRUE(body) << "closed without a hello_ack";
    msgpack::zone zone;
    mailroom::protocol::message m;
    ASSERT_FALSE(mailroom::protocol::decode(*body, zone, m));
    ASSERT_EQ(m.kind, mailroom::protocol::message_kind::hello_ack);
    EXPECT_EQ(m.hello.code, static_cast<int>(error::version_mismatch));
    EXPECT_EQ(m.hello.peer_id, "echo-1");
    EXPECT_TRUE(server_closes(*raw)) << "then the server closes";
}

TEST_P(transport_conformance, ATimeoutFiresAndTheLateReplyIsIgnored)
{
    cluster c(transport());
    std::promise<mailroom::responder> later;
    c.bind_more = [&](mailroom::dispatcher& d) {
        d.add_raw("user", "echoRemote", "later",
                  [&](const mailroom::call_context&, const mailroom::value_view&, mailroom::responder r) {
                      later.set_value(std::move(r));
                  });
    };
    c.start_server();
    // The link first: a call that times out while still queued behind the connect (a TLS
    // handshake under a sanitizer can take longer than 50 ms) is never sent, and the server's
    // handler below would wait for it in vain.
    auto first = add(c, 1, 1);
    EXPECT_EQ(wait(first), std::make_tuple(std::error_code{}, 2));
    auto slow = c.rpc->async_call<int>(echo_path("echoRemote", "later"), "k", std::tuple{},
                                       mailroom::call_options{.timeout = 50ms}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(slow)), error::timeout);

    auto held = later.get_future();
    auto r = wait(held);
    r.send(42); // arrives after the timeout: the station drops it

    auto next = add(c, 20, 22);
    EXPECT_EQ(wait(next), std::make_tuple(std::error_code{}, 42)) << "the link is still fine";
    EXPECT_EQ(c.station->pending(), 0u);
}

TEST_P(transport_conformance, CallsMadeBeforeTheServerListensSucceedOnceItIsUp)
{
    cluster c(transport(), 2, {.connect_timeout = 20s, .reconnect_delay = 5ms});
    auto reserved = transport().reserve(c.ioc);
    c.add_echo_server(reserved->address);
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int i = 0; i < 50; ++i)
        calls.push_back(add(c, i, 1));
    // Failed connects are being retried; no call may have completed yet.
    for (auto& f : calls)
        EXPECT_NE(f.wait_for(0s), std::future_status::ready);
    reserved->release();
    c.start_server(reserved->address);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(wait(calls[i]), std::make_tuple(std::error_code{}, i + 1));
}

TEST_P(transport_conformance, CallsFailWithConnectFailedWhenNoServerComesUp)
{
    cluster c(transport(), 2, {.connect_timeout = 200ms, .reconnect_delay = 5ms});
    auto reserved = transport().reserve(c.ioc);
    c.add_echo_server(reserved->address);
    auto f = add(c, 1, 1);
    EXPECT_EQ(std::get<0>(wait(f)), error::connect_failed);
}

TEST_P(transport_conformance, TheNextCallReconnectsAfterTheServerRestarts)
{
    cluster c(transport());
    c.start_server();
    auto first = add(c, 1, 1);
    EXPECT_EQ(wait(first), std::make_tuple(std::error_code{}, 2));
    const auto at = c.address();
    c.stop_server();
    c.start_server(at);
    // The old link may not have noticed the close yet: the first call can fail with
    // disconnected; within a few calls the station must be connected again.
    std::error_code last = error::disconnected;
    for (int i = 0; i < 20 && last; ++i) {
        auto f = add(c, 2, 2);
        auto [ec, v] = wait(f);
        last = ec;
        if (!ec)
            EXPECT_EQ(v, 4);
        else
            EXPECT_EQ(ec, error::disconnected);
    }
    EXPECT_FALSE(last);
}

TEST_P(transport_conformance, OversizedCallsAndResultsFailAloneWithFrameTooLarge)
{
    cluster c(transport(), 2, {.max_frame_size = 64 << 10});
    c.server_max_frame_size = 1 << 10;
    c.bind_more = [](mailroom::dispatcher& d) {
        d.add("echoRemote", "grow", [](int n) { return std::string(static_cast<std::size_t>(n), 'z'); });
    };
    c.start_server();
    auto big_call = c.rpc->async_call<std::string>(echo_path("echoRemote", "echo"), "k",
                                                   std::tuple{std::string(100 << 10, 'x')},
                                                   asio::use_future);
    EXPECT_EQ(std::get<0>(wait(big_call)), error::frame_too_large) << "refused by the client";
    auto big_result = c.rpc->async_call<std::string>(echo_path("echoRemote", "grow"), "k",
                                                     std::tuple{4096}, asio::use_future);
    EXPECT_EQ(std::get<0>(wait(big_result)), error::frame_too_large) << "refused by the server";
    auto fits = c.rpc->async_call<std::string>(echo_path("echoRemote", "grow"), "k",
                                               std::tuple{100}, asio::use_future);
    auto [ec, v] = wait(fits);
    EXPECT_FALSE(ec) << "the link survived: " << ec.message();
    EXPECT_EQ(v.size(), 100u);
}

TEST_P(transport_conformance, ManyClientsShareOneServer)
{
    cluster server_side(transport());
    server_side.start_server();
    std::vector<std::unique_ptr<cluster>> clients;
    std::vector<std::future<std::tuple<std::error_code, int>>> calls;
    for (int k = 0; k < 8; ++k) {
        clients.push_back(std::make_unique<cluster>(transport(), 1));
        clients.back()->add_echo_server(server_side.address());
        for (int i = 0; i < 100; ++i)
            calls.push_back(add(*clients.back(), k, i));
    }
    for (int k = 0, j = 0; k < 8; ++k)
        for (int i = 0; i < 100; ++i, ++j)
            EXPECT_EQ(wait(calls[j]), std::make_tuple(std::error_code{}, k + i));
}

} // namespace
