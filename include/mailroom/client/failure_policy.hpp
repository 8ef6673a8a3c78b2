#pragma once

#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/filters/filter.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
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

} // namespace mailroom
