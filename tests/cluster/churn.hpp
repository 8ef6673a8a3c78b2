// What the membership churn tests share: the echo remote the servers serve, a ledger that
// counts each call's completions, the calling threads, and the errors a call to a server
// that moves may meet.

#pragma once

#include <mailroom/error.hpp>
#include <mailroom/remote.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

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

    std::size_t size() const { return done_.size(); }

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

    /// "what: n; ..." of the moving servers' errors.
    std::string moving_summary() const
    {
        std::string s;
        for (const auto& [what, n] : moving_errors())
            s += what + ": " + std::to_string(n) + "; ";
        return s;
    }

private:
    std::vector<std::atomic<int>> done_;
    std::atomic<std::size_t> twice_{0};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::size_t completed_ = 0;
    std::map<std::string, std::size_t> stable_errors_, moving_errors_;
};

/// Completes a call with its error, or `bad_result` when the echo is not `n`.
using echo_done = std::function<void(std::error_code, int)>;
/// Makes call `call`: echo(`n`) to a stable server (even calls) or a moving one, routed by
/// `user`, completing with `done`.
using make_call = std::function<void(const std::string& user, bool stable, int n, echo_done done)>;

/** Three threads make the ledger's calls, each keeping up to 32 in flight, and return when
    every call they made has completed. `before(call)`, if given, runs before each call (a
    test paces the calls against its changes with it). Thread t makes calls
    [t * n/3, (t + 1) * n/3).
*/
inline void drive_calls(ledger& book, const make_call& call_fn,
                        const std::function<void(std::size_t call)>& before = {})
{
    constexpr std::size_t callers = 3;
    const std::size_t per_caller = book.size() / callers;
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
                if (before)
                    before(call);
                const bool stable = call % 2 == 0;
                const int n = static_cast<int>(call);
                auto done = [&book, &mu, &cv, &in_flight, call, stable, n](std::error_code ec,
                                                                           int got) {
                    if (!ec && got != n)
                        ec = make_error_code(mailroom::error::bad_result);
                    book.complete(call, stable, ec);
                    std::lock_guard lock(mu);
                    --in_flight;
                    cv.notify_one();
                };
                call_fn("user-" + std::to_string(call), stable, n, done);
            }
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return in_flight == 0; });
        });
    }
    for (auto& t : threads)
        t.join();
}

/** What a call to a moving server may meet: its server left the table (not_sent,
    unknown_server, no_target_server), went away while the call was out (disconnected,
    shutting_down), could not be reached yet (connect_failed), or was routed on a table that
    still named the incarnation before a restart and met the new one (wrong_server: refused
    in the handshake, never run).
*/
inline std::set<std::string> moving_errors_allowed()
{
    using mailroom::error;
    return {make_error_code(error::not_sent).message(),
            make_error_code(error::unknown_server).message(),
            make_error_code(error::no_target_server).message(),
            make_error_code(error::disconnected).message(),
            make_error_code(error::shutting_down).message(),
            make_error_code(error::connect_failed).message(),
            make_error_code(error::wrong_server).message()};
}

/** Checks what every churn test asserts once all calls completed: each completed once, the
    stable servers failed none, the moving ones only with an allowed error and in under half
    of the calls. Prints "<what>: N calls, M to moving servers failed (...)".
*/
inline void check_outcomes(const ledger& book, const char* what)
{
    EXPECT_EQ(book.completed_twice(), 0u);
    EXPECT_TRUE(book.stable_errors().empty()) << "the servers that never changed fail no call";
    const auto allowed = moving_errors_allowed();
    std::size_t moving_failed = 0;
    for (const auto& [error, n] : book.moving_errors()) {
        EXPECT_TRUE(allowed.count(error)) << n << " calls failed with " << error;
        moving_failed += n;
    }
    EXPECT_LT(moving_failed, book.size() / 2) << "most calls to moving servers still succeed";
    std::printf("%s: %zu calls, %zu to moving servers failed (%s)\n", what, book.size(),
                moving_failed, book.moving_summary().c_str());
}

} // namespace churn
