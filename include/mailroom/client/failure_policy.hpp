#pragma once

#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/filters/filter.hpp>
#include <mailroom/log_limiter.hpp>
#include <mailroom/logger.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <vector>

namespace mailroom {

/** What a @ref failure_policy knows about an attempt of a call that failed.

    Everything refers to the call's own state and is valid during `on_failure` only.
*/
struct call_failure {
    /// The call: names, route parameter (`call.param`), deadline, `call.attempt` (1 for the
    /// first), and `call.target`, the server this attempt went to.
    const filter_call& call;
    /// Why the attempt failed: a local error, a client filter's rejection, or the error code
    /// of the remote's response.
    std::error_code error;
    /** True if the attempt's frame was handed to a mail box: the callee may have run the call
        (a response with an error code, `disconnected`, `timeout`). False if it never left
        this process (`not_sent`, a client filter rejected it, no server, unknown server or
        transport, `connect_failed`, `wrong_server`, `queue_full`, `frame_too_large`,
        `version_mismatch`, `not_encodable`): sending it elsewhere is safe.
    */
    bool sent;
    /// False if the caller chose the server (`async_call_to`, a stub's `to_server`): a policy
    /// should not move such a call to another server.
    bool routed;
    /// The servers whose attempts failed so far, oldest first; the last is `call.target`.
    std::span<const std::string> failed;
    /// The server table the call was routed on: one snapshot for every attempt of a call.
    const server_table& servers;

    /// The servers of the call's type in `servers` that have not failed this call, by id.
    std::vector<const server_info*> candidates() const;
};

/// A @ref failure_policy's decision about a failed attempt.
struct retry_decision {
    /// Empty: the call completes with the attempt's error. Else the server that gets the
    /// next attempt (the same one for a retry in place); a server of the call's snapshot.
    std::string target;
    /// Wait this long before the next attempt (a backoff). An attempt that could not start
    /// before the call's deadline is not made: the call completes with the error.
    std::chrono::milliseconds delay{0};
    /// Complete the caller now with this attempt's error and make the next attempt in the
    /// background (failback): the outcomes of later attempts reach the filters and the policy
    /// only.
    bool in_background = false;

    /// The call completes with the attempt's error.
    static retry_decision complete() { return {}; }
    /// The call is sent again to `server_id`, after `delay`.
    static retry_decision resend(std::string server_id, std::chrono::milliseconds delay = {})
    {
        return {std::move(server_id), delay, false};
    }
};

/** Decides what happens to a call when one of its attempts fails: complete it with the error
    (failfast, the default), or send it again, to another server of its type (failover) or to
    the same one later (failsafe), possibly after answering the caller (failback).

    The call pipeline enforces what no policy may break: a call completes exactly once; a
    call is not sent again once its cancellation fired or it was cancelled (`cancelled`,
    `operation_canceled`), nor when the next attempt could not start before its deadline;
    every attempt uses the snapshot the call was routed on and the time that remains. A
    retry re-sends the frame encoded for the first attempt, with the same request id (an
    attempt is only re-sent after it completed, so the id is never pending twice).

    @par Thread safety
    `on_failure` and `on_done` run on the station's I/O threads (or the caller's thread, for
    a failure found while the call starts), concurrently for different calls, never under a
    lock of mailroom's. They must not block.

    @par Example
    @code
    struct failover_once : mailroom::failure_policy {
        mailroom::retry_decision on_failure(const mailroom::call_failure& f) override {
            auto c = f.candidates();
            if (f.sent || !f.routed || c.empty() || f.call.attempt > 1) return {};
            return mailroom::retry_decision::resend(c.front()->id);
        }
    };
    @endcode
*/
class failure_policy {
public:
    virtual ~failure_policy() = default;

    /// An attempt failed: decide. A policy that throws completes the call with the error.
    virtual retry_decision on_failure(const call_failure& f) = 0;

    /// A call that carried this policy ended (with its final outcome, even if the caller was
    /// answered earlier): for policies that keep count (a bounded failback queue).
    virtual void on_done(const filter_call&, std::error_code) {}
};

/// The default policy: the error of the first attempt goes to the caller.
class failfast final : public failure_policy {
public:
    retry_decision on_failure(const call_failure&) override { return retry_decision::complete(); }
};

/** The failure policies of a @ref proxy: a default and one per server type. Without any, calls
    take the fast path (no policy is consulted and nothing is kept for a retry).

    @par Thread safety
    All member functions may be called concurrently; a call uses the policy that was set when
    it was made.

    @par Example
    @code
    rpc.policies().set("chat", std::make_shared<my_failover>());
    @endcode
*/
class failure_policies {
public:
    /// The policy of calls to server types without their own (null: failfast).
    void set_default(std::shared_ptr<failure_policy> policy);

    /// The policy of calls to servers of `server_type` (null: back to the default).
    void set(std::string server_type, std::shared_ptr<failure_policy> policy);

    /// The policy for a call to `server_type`, or null for failfast.
    std::shared_ptr<failure_policy> for_type(std::string_view server_type) const;

    /// True while no policy is set: calls skip the lookup.
    bool empty() const noexcept { return !any_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mu_;
    std::shared_ptr<failure_policy> default_;
    detail::string_map<std::shared_ptr<failure_policy>> by_type_;
    std::atomic<bool> any_{false};
};

/** What a failed attempt says about the call, as the shipped policies read it
    (docs/guide.md, "Failure policies", has the table).
*/
enum class failure_kind {
    /// Sending the call again cannot help: the handler ran and failed (`remote_error`), the
    /// call itself is at fault (`bad_arguments`, `unknown_method`, `unknown_service`,
    /// `not_encodable`, `frame_too_large`, `bad_result`, `protocol_error`), it was cancelled,
    /// or its deadline passed on the callee (`deadline_exceeded`).
    final,
    /// The callee did not run the call: it never left this process (`not_sent`,
    /// `connect_failed`, `queue_full`, a client filter's rejection, ...) or the callee
    /// refused it before running it (`server_busy`, `shutting_down`). Safe to send again,
    /// to any server.
    not_run,
    /// The call was sent and its outcome is unknown (`disconnected`, `timeout`,
    /// `keepalive_timeout`): the handler may have run. Only an idempotent call is sent again.
    unknown,
};

/// The kind of a failed attempt (see @ref failure_kind).
failure_kind classify(const call_failure& f) noexcept;

/** Whether the failed server itself refused to take calls in a way that waiting will not
    change (another id answered, another protocol version, authentication refused, anything
    equal to `condition::permanent`, not in the table, no transport): a policy that retries
    the same server gives up on these at once.
*/
bool is_permanent_for_server(std::error_code ec) noexcept;

/// Which calls may run twice: a predicate over the call (its names are in `filter_call`).
using idempotence = std::function<bool(const filter_call&)>;

/** An @ref idempotence that holds for the listed methods, written "service.method" (any
    server type and namespace) or "server_type.service.method".
*/
idempotence idempotent_methods(std::vector<std::string> methods);

/// Backoff between attempts: `initial`, times `multiplier` per attempt, at most `max`; with
/// `jitter`, each delay is drawn uniformly from [delay / 2, delay] so callers spread out.
struct backoff_settings {
    std::chrono::milliseconds initial{50};
    std::chrono::milliseconds max{2000};
    double multiplier = 2.0;
    bool jitter = true;

    /// The delay before attempt `attempt` + 1 (`attempt` >= 1 is the one that failed).
    std::chrono::milliseconds delay(unsigned attempt) const noexcept;
};

/** failover: a routed call whose attempt did not run (or may have run, for an idempotent
    method) goes to another server of its type that has not failed it, chosen at random
    among those; at most `max_attempts` attempts in all, within the call's deadline. A call
    to a chosen server (`async_call_to`, `to_server`) is never moved.

    @par Thread safety
    Shared by every call of the proxy: its member functions may run concurrently.
*/
class failover final : public failure_policy {
public:
    struct options {
        /// Attempts in all, the first included (one per server at most). Default: 3.
        unsigned max_attempts = 3;
        /// Calls that may be sent again after an unknown outcome. Default: none.
        idempotence idempotent{};
    };

    failover() = default;
    explicit failover(options o) : options_(std::move(o)) {}

    retry_decision on_failure(const call_failure& f) override;

private:
    options options_{};
    std::atomic<std::uint64_t> pick_{0};
};

/** failsafe: a transient failure is retried on the same server after a backoff, at most
    `max_retries` times, within the call's deadline. Transient: the call did not run and the
    server may take it later (`connect_failed`, `not_sent`, `queue_full`, `server_busy`,
    `shutting_down`, a client filter's rejection); or, for an idempotent method, the outcome
    is unknown (`disconnected`, `timeout`, `keepalive_timeout`). Errors that name the server
    as wrong for good (@ref is_permanent_for_server) are not retried.

    @par Thread safety
    Shared by every call of the proxy: its member functions may run concurrently.
*/
class failsafe final : public failure_policy {
public:
    struct options {
        /// Attempts after the first. Default: 2.
        unsigned max_retries = 2;
        /// Delays between attempts. Default: 50 ms doubling up to 2 s, with jitter.
        backoff_settings backoff{};
        /// Calls that may be sent again after an unknown outcome. Default: none.
        idempotence idempotent{};
    };

    failsafe() = default;
    explicit failsafe(options o) : options_(std::move(o)) {}

    retry_decision on_failure(const call_failure& f) override;

private:
    options options_{};
};

/** failback: the caller is answered at once with the first attempt's error, and the call is
    kept and sent again in the background (same server, after a backoff, again and again)
    until it succeeds or its deadline passes. For notifies and calls whose result nobody
    waits for (a log, a counter): the caller learns that the first attempt failed; the
    policy's counters tell how many calls were delivered later and how many were given up.

    At most `max_queued` calls are kept at once; a failure beyond that completes as failfast
    and counts as an overflow. Overflows and give-ups are logged (at most one line per 10 s
    per kind, with the count). Only a call that did not run, or an idempotent one, is kept.

    @par Thread safety
    Shared by every call of the proxy: its member functions may run concurrently.
*/
class failback final : public failure_policy {
public:
    struct options {
        /// Calls kept for re-sending at once. Default: 1,024.
        std::size_t max_queued = 1024;
        /// Delays between attempts. Default: 100 ms doubling up to 5 s, with jitter.
        backoff_settings backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
        /// Calls that may be sent again after an unknown outcome. Default: none.
        idempotence idempotent{};
        /// Where overflows and give-ups are logged (warning). Default: stderr.
        logger log{};
    };

    /// What happened to the calls this policy kept.
    struct counters {
        std::size_t queued = 0;       ///< kept now
        std::uint64_t delivered = 0;  ///< kept, then succeeded
        std::uint64_t given_up = 0;   ///< kept, then failed for good or ran out of time
        std::uint64_t overflows = 0;  ///< not kept: the queue was full
    };

    failback() : failback(options{}) {}
    explicit failback(options o) : options_(std::move(o)) {}

    retry_decision on_failure(const call_failure& f) override;
    void on_done(const filter_call& call, std::error_code outcome) override;

    counters stats() const;

private:
    void log_line(std::string_view key, std::string_view what, const filter_call& call,
                  std::error_code ec);

    options options_;
    mutable std::mutex mu_;
    std::unordered_set<const filter_call*> kept_; // the calls in the background, by identity
    counters counts_;
    log_limiter limiter_{log_limit_settings{}};
};

} // namespace mailroom
