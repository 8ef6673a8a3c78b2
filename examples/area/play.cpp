// play: the connector's side of the area example. It waits until both area servers answer
// sys.health.ping, then plays four sessions through typed stubs routed by area, a notify, a
// remote error, and the client filter closing a server.

#include "play.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

// g++ 12 at -O2 takes the coroutine frame's allocation in Boost 1.74's awaitable_frame_base
// (its own operator new and delete, a matching pair) for a mismatch; a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace world {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void gatekeeper::before(mailroom::filter_call& call, mailroom::filter_next next)
{
    {
        std::lock_guard lock(mu_);
        if (closed_.contains(call.target))
            return next(mailroom::error::server_busy);
        ++let_through_;
    }
    next();
}

void gatekeeper::close_server(const std::string& id)
{
    std::lock_guard lock(mu_);
    closed_.insert(id);
}

void gatekeeper::open_server(const std::string& id)
{
    std::lock_guard lock(mu_);
    closed_.erase(id);
}

std::size_t gatekeeper::let_through() const
{
    std::lock_guard lock(mu_);
    return let_through_;
}

namespace {

/// Waits (up to 10 s) until server `id` answers its health check.
asio::awaitable<bool> wait_until_up(mailroom::app<world_rpc>& app, const std::string& id)
{
    asio::steady_timer retry(co_await asio::this_coro::executor);
    for (int attempt = 0; attempt < 500; ++attempt) {
        auto [ec, health] =
            co_await app.rpc.sys(id).health.ping(asio::use_awaitable);
        if (!ec)
            co_return health.server_id == id;
        retry.expires_after(20ms); // the process is still starting: ask again
        co_await retry.async_wait(asio::use_awaitable);
    }
    co_return false;
}

struct checker {
    int failures = 0;
    void operator()(bool ok, const char* what)
    {
        std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
        failures += ok ? 0 : 1;
    }
};

} // namespace

asio::awaitable<int> play(mailroom::app<world_rpc>& app, gatekeeper& gate)
{
    checker check;
    check(co_await wait_until_up(app, "area-server-1"), "area-server-1 is up");
    check(co_await wait_until_up(app, "area-server-2"), "area-server-2 is up");

    const std::vector<session> sessions{
        {"alice", "forest"}, {"bob", "cave"}, {"carol", "forest"}, {"dave", "swamp"}};
    auto area = app.rpc.area.areaRemote.with({.timeout = 2s});

    for (const auto& s : sessions) {
        auto [ec, at] = co_await area.enter(mailroom::route_param::of(s), s.uid,
                                            asio::use_awaitable);
        check(!ec && at.x == 0 && at.y == 0, "a player enters the server of its area");
    }

    const session& alice = sessions[0];
    auto [ec, at] = co_await area.move(mailroom::route_param::of(alice), alice.uid, {3, 4},
                                       asio::use_awaitable);
    check(!ec && at.x == 3 && at.y == 4, "a position travels both ways");

    // A notify: no answer; the area server's next answer shows it arrived.
    area.shout(mailroom::route_param::of(alice), alice.uid, "hello forest",
               [](std::error_code) {});
    auto [ec2, players] = co_await area.who(mailroom::route_param::of(alice), asio::use_awaitable);
    std::size_t expected = 0;
    for (const auto& s : sessions)
        expected += mailroom::crc32(s.area) % 2 == mailroom::crc32(alice.area) % 2 ? 1 : 0;
    bool heard = false;
    for (const auto& p : players)
        heard = heard || (p.uid == "alice" && p.at.y == 4 && p.said == "hello forest");
    check(!ec2 && players.size() == expected, "who() lists the players routed to that server");
    check(heard, "the notify reached the area before the next call");

    const session stranger{"zed", "forest"};
    auto [ec3, ignored] = co_await area.move(mailroom::route_param::of(stranger), stranger.uid,
                                             {1, 1}, asio::use_awaitable);
    check(ec3 == mailroom::error::remote_error, "a remote's exception reaches the caller");

    const session& bob = sessions[1];
    std::string bobs_server = mailroom::crc32(bob.area) % 2 == 0 ? "area-server-1" : "area-server-2";
    gate.close_server(bobs_server);
    auto [ec4, at4] = co_await area.move(mailroom::route_param::of(bob), bob.uid, {5, 5},
                                         asio::use_awaitable);
    check(ec4 == mailroom::error::server_busy, "the client filter stops calls to a closed server");
    gate.open_server(bobs_server);
    auto [ec5, at5] = co_await area.move(mailroom::route_param::of(bob), bob.uid, {5, 5},
                                         asio::use_awaitable);
    check(!ec5 && at5.x == 5, "and lets them through once it is open again");

    std::printf("%zu calls left the connector; %d check(s) failed\n", gate.let_through(),
                check.failures);
    co_return check.failures == 0 ? 0 : 1;
}

} // namespace world
