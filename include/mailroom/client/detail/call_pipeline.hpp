#pragma once

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/client/failure_policy.hpp>
#include <mailroom/client/route_param.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/metrics/registry.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>

namespace mailroom {
class mail_station;
}

namespace mailroom::detail {

/** True if a call that failed with `ec` provably never left this process, so that sending it
    elsewhere is safe (see call_failure::sent): `not_sent`, and the errors the station reports
    before a frame reaches a mail box (no server, connect failures, bounds). `disconnected`
    and `timeout` mean "sent, outcome unknown".
*/
bool never_sent(std::error_code ec) noexcept;

/// What a call carries only when it has client filters or a failure policy.
struct call_extras {
    std::shared_ptr<const client_filters::table> filters; // null: no filter for the type
    std::shared_ptr<failure_policy> policy;                // null: failfast
    filter_call info;                                      // all but the target
    bool routed = true;
    /// A copy of the arguments, kept when the snapshot has servers of several protocols: a
    /// filter or the policy may send the call to one whose protocol must encode it again.
    std::shared_ptr<const value_source> args;
};

/// A value as a call keeps it: views and C strings become strings (the caller's storage may
/// be gone when the call is encoded again).
template <class T>
struct owned_value {
    using type = std::remove_cvref_t<T>;
};
template <>
struct owned_value<std::string_view> {
    using type = std::string;
};
template <>
struct owned_value<const char*> {
    using type = std::string;
};
template <>
struct owned_value<char*> {
    using type = std::string;
};
template <std::size_t N>
struct owned_value<char[N]> {
    using type = std::string;
};

/// The arguments as a call keeps them: the stubs pass a tuple of references.
template <class Args>
struct owned_args {
    using type = typename owned_value<std::remove_cvref_t<Args>>::type;
};
template <class... A>
struct owned_args<std::tuple<A...>> {
    using type = std::tuple<typename owned_value<std::remove_cvref_t<A>>::type...>;
};

/** One outgoing call, from the stub or proxy to its completion. Everything in it is owned:
    it is made in the calling thread (routed there, on `view`, while the route parameter is
    alive; arguments encoded there, by the protocol of the server it is routed to) and may be
    started later, when the caller's frame is
    gone (`asio::use_awaitable` starts it when awaited).

    Without extras the call goes straight to the station: its completion handler is the only
    state and lives in the station's pending-call slot. With extras it runs through the
    pipeline (src/client/call_pipeline.cpp): the client filters, the station on the same
    snapshot, the failure policy.
*/
struct call {
    /// Valid while the call starts (the initiation); the pipeline keeps a station_ref.
    mail_station* station = nullptr;
    station_view_ptr view;   // the snapshot the call was routed on and is sent on
    std::string target;      // empty: no server fits (the call fails with no_target_server)
    std::uint64_t id = 0;    // 0: a notify
    frame f;                 // encoded for the first attempt, by `protocol`
    const wire_protocol* protocol = nullptr;
    std::error_code encode_error; // the values had no form in `protocol`'s format
    call_options options;    // with the timeout resolved
    std::optional<call_extras> extras;
    metrics::registry* metrics = nullptr; // null: not counted
    metrics::call_meter meter;            // started when made, if counted
    /// When the initiation started counting it (zero: not counted); the station's deadline
    /// for the first attempt counts from then.
    deadline_clock::time_point started_at{};
};

/** Fills `c.extras` if `filters` (may be null) or `policies` apply to calls of `path`'s server
    type: copies the names and `param`'s key and number (`param` may be null).
*/
void add_extras(call& c, const protocol::method_path& path, const route_param* param,
                bool routed, const client_filters* filters, const failure_policies& policies);

class call_pipeline;

/** Starts a call that has extras. The call may outlive its station (a client filter that
    continues later, a retry delay, an attempt in the background), so its completion must
    not point at the station's executor: it uses `executor()`, which the call holds.
*/
class pipeline_start {
public:
    explicit pipeline_start(call&& c);

    /// The station's executor, held by the call until its handler ran.
    const asio::any_io_executor& executor() const noexcept;

    /// Runs the call: `done` completes exactly once, never inside this function.
    void run(call_handler done) &&;

    /// Runs a notify.
    void run(status_handler done) &&;

private:
    std::shared_ptr<call_pipeline> p_;
};

} // namespace mailroom::detail
