#include <mailroom/testing/cluster.hpp>

#include "churn.hpp"

#include <mailroom/client/failure_policy.hpp>
#include <mailroom/error.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

// Membership churn: servers leave and join the caller's table (and stop and restart) while
// three threads make 10,000 calls. Every call completes exactly once; calls to the servers
// that never changed all succeed; calls to the others succeed or fail with a named error
// that says what happened to them.

namespace {

using namespace std::chrono_literals;
using mailroom::error;

TEST(Churn, EveryCallCompletesOnceWhileServersLeaveAndJoin)
{
    churn::echo_service svc;
    mailroom::testing::cluster<churn::churn_rpc> c{
        {.threads = 2, .station = {.request_timeout = 5s, .connect_timeout = 200ms,
                                   .probe_delay = 20ms, .max_probe_delay = 100ms,
                                   .drain_timeout = 100ms}}};
    for (const char* id : {"stable-1", "stable-2"})
        c.add_server(id, "stable").serve<churn::echo_remote>(svc);
    const std::vector<std::string> moving = {"moving-1", "moving-2", "moving-3"};
    for (const auto& id : moving)
        c.add_server(id, "moving").serve<churn::echo_remote>(svc);
    c.routes().set("moving", mailroom::routes::round_robin());
    std::map<std::string, mailroom::server_info> info;
    for (const auto& id : moving)
        info[id] = *c.station().servers()->find(id);

    constexpr std::size_t calls = 3 * 3334;
    churn::ledger book(calls);
    std::atomic<bool> stop_churn{false};

    // Churn, paced by the calls' progress (one change per 250 calls completed): each moving
    // server in turn leaves the table and comes back, stops and restarts at the same
    // address, or is left out of a replaced table and put back. The stable servers never
    // change.
    std::thread churner([&] {
        for (std::size_t round = 0; !stop_churn.load(); ++round) {
            if (!book.wait_completed((round + 1) * 250, 60s) || book.completed() == calls)
                break;
            const auto& id = moving[round % moving.size()];
            switch (round % 3) {
            case 0:
                c.station().remove_server(id);
                c.station().add_server(info[id]);
                break;
            case 1:
                c.stop(id);
                c.restart(id);
                break;
            case 2: {
                std::vector<mailroom::server_info> without;
                for (const auto& s : c.station().servers()->all())
                    if (s.id != id)
                        without.push_back(s);
                c.station().replace_servers(without);
                without.push_back(info[id]);
                c.station().replace_servers(without);
                break;
            }
            }
        }
    });

    churn::drive_calls(book, [&](const std::string& user, bool stable, int n,
                                 churn::echo_done done) {
        const mailroom::route_param key(user); // views `user`, alive for the call's start
        if (stable)
            c.rpc.stable.echoRemote.echo(key, n, std::move(done));
        else
            c.rpc.moving.echoRemote.echo(key, n, std::move(done));
    });
    const bool all = book.wait_all(60s);
    stop_churn = true;
    churner.join();

    ASSERT_TRUE(all) << "a call never completed";
    churn::check_outcomes(book, "churn");
}

} // namespace
