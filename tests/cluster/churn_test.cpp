#include <mailroom/testing/cluster.hpp>

#include <mailroom/client/failure_policy.hpp>
#include <mailroom/error.hpp>
#include <mailroom/remote.hpp>

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

namespace churn {

MAILROOM_REMOTE(echo_remote, echoRemote,
    (echo, int(int n)));

struct echo_service {
    int echo(int n) { return n; }
};

struct churn_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"stable", echo_remote> stable{*this};
    mailroom::server_type<"moving", echo_remote> moving{*this};
};

} // namespace churn

namespace {

using namespace std::chrono_literals;
using mailroom::error;

/// Counts each call's completions; tells when all have completed.
class ledger {
public:
    explicit ledger(std::size_t calls) : done_(calls) {}

    void complete(std::size_t call, bool stable, std::error_code ec)
    {
        if (done_[call].fetch_add(1) != 0)
            twice_.fetch_add(1);
        std::lock_guard lock(mu_);
        if (ec)
            ++(stable ? stable_errors_ : moving_errors_)[ec.message()];
        ++completed_;
        cv_.notify_all();
    }

    bool wait_all(std::chrono::seconds limit)
    {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, limit, [&] { return completed_ == done_.size(); });
    }

    /// Waits until at least `n` calls have completed (or all have); false after `limit`.
    bool wait_completed(std::size_t n, std::chrono::seconds limit)
    {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, limit,
                            [&] { return completed_ >= std::min(n, done_.size()); });
    }

    std::size_t completed() const
    {
        std::lock_guard lock(mu_);
        return completed_;
    }

    std::size_t completed_twice() const { return twice_.load(); }
    std::map<std::string, std::size_t> stable_errors() const
    {
        std::lock_guard lock(mu_);
        return stable_errors_;
    }
    std::map<std::string, std::size_t> moving_errors() const
    {
        std::lock_guard lock(mu_);
        return moving_errors_;
    }

private:
    std::vector<std::atomic<int>> done_;
    std::atomic<std::size_t> twice_{0};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::size_t completed_ = 0;
    std::map<std::string, std::size_t> stable_errors_, moving_errors_;
};

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

    constexpr std::size_t callers = 3, per_caller = 3334, calls = callers * per_caller;
    ledger book(calls);
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

    // Three callers, each keeping up to 32 calls in flight.
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < callers; ++t) {
        threads.emplace_back([&, t] {
            std::mutex mu;
            std::condition_variable cv;
            std::size_t in_flight = 0;
            for (std::size_t i = 0; i < per_caller; ++i) {
                {
                    std::unique_lock lock(mu);
                    cv.wait(lock, [&] { return in_flight < 32; });
                    ++in_flight;
                }
                const std::size_t call = t * per_caller + i;
                const bool stable = call % 2 == 0;
                const int n = static_cast<int>(call);
                auto done = [&book, &mu, &cv, &in_flight, call, stable, n](std::error_code ec,
                                                                           int got) {
                    if (!ec && got != n)
                        ec = make_error_code(error::bad_result);
                    book.complete(call, stable, ec);
                    std::lock_guard lock(mu);
                    --in_flight;
                    cv.notify_one();
                };
                const std::string user = "user-" + std::to_string(call); // the param views it
                const mailroom::route_param key(user);
                if (stable)
                    c.rpc.stable.echoRemote.echo(key, n, done);
                else
                    c.rpc.moving.echoRemote.echo(key, n, done);
            }
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return in_flight == 0; });
        });
    }
    for (auto& t : threads)
        t.join();
    const bool all = book.wait_all(60s);
    stop_churn = true;
    churner.join();

    ASSERT_TRUE(all) << "a call never completed";
    EXPECT_EQ(book.completed_twice(), 0u);
    EXPECT_TRUE(book.stable_errors().empty()) << "the servers that never changed fail no call";
    // What a call to a moving server may meet: its server left the table (not_sent,
    // unknown_server, no_target_server), went away while the call was out (disconnected,
    // shutting_down), or could not be reached yet (connect_failed).
    const std::set<std::string> allowed = {
        make_error_code(error::not_sent).message(),
        make_error_code(error::unknown_server).message(),
        make_error_code(error::no_target_server).message(),
        make_error_code(error::disconnected).message(),
        make_error_code(error::shutting_down).message(),
        make_error_code(error::connect_failed).message()};
    std::size_t moving_failed = 0;
    for (const auto& [what, n] : book.moving_errors()) {
        EXPECT_TRUE(allowed.count(what)) << n << " calls failed with " << what;
        moving_failed += n;
    }
    EXPECT_LT(moving_failed, calls / 2) << "most calls to moving servers still succeed";
    std::printf("churn: %zu calls, %zu to moving servers failed (%s)\n", calls, moving_failed,
                [&] {
                    std::string s;
                    for (const auto& [what, n] : book.moving_errors())
                        s += what + ": " + std::to_string(n) + "; ";
                    return s;
                }()
                    .c_str());
}

} // namespace
