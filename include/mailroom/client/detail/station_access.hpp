#pragma once

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/route_context.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace mailroom {

class mail_station;

namespace detail {

/** The station's interface for the call pipeline (proxy, filtered calls): internal, not
    for user code. A call routes on a snapshot of the server table and sends on the same
    snapshot, so it takes the station's lock once.
*/

/// An opaque snapshot of the station: its server table and the mail boxes of its servers.
struct station_view;
using station_view_ptr = std::shared_ptr<const station_view>;

/// The current snapshot (never null); takes the station's lock once.
station_view_ptr view_of(const mail_station& s);

/// The server table of a snapshot.
const server_table& table_of(const station_view& v) noexcept;

/// What a call routes on: the snapshot's table and the live load of its servers.
route_context context_of(const station_view& v) noexcept;

/** The protocol server `server_id` of the snapshot speaks (its transport's), which encodes
    calls to it; the native one for an id not in the snapshot (such a call fails anyway).
*/
const wire_protocol& protocol_of(const station_view& v, std::string_view server_id) noexcept;

/// Every server of the snapshot speaks the same protocol.
bool one_protocol(const station_view& v) noexcept;

/// Completes `h` with `ec` (a call that could not be encoded), posted to the station's executor.
void fail_request(mail_station& s, call_handler h, std::error_code ec);
void fail_notify(mail_station& s, status_handler h, std::error_code ec);

/// A fresh request id: ids are never reused by a station (never 0).
std::uint64_t next_request_id(mail_station& s) noexcept;

/** The station's executor by reference: valid while the station lives and while any of its
    calls has not completed (completions keep the station's shared state alive).
*/
const asio::any_io_executor& executor_ref(const mail_station& s) noexcept;

/** Sends a request frame encoded by `protocol_of(*v, server_id)` to server `server_id` of the
    snapshot `v`, and waits for the response with id `id`. When the frame leaves, its timeout
    field is rewritten with the time that remains.

    An empty `server_id` completes with `no_target_server`; a server that has been removed
    or changed since the snapshot completes with `not_sent` (as if it had been removed just
    after the call). `h` completes exactly once; errors found here are posted to the
    station's executor.
    @param o the timeout (zero: the station's `request_timeout`) and cancellation.
    @param made_at when the call started (deadline_clock), if the caller read the clock
    just before; its deadline counts from then. Zero: from now.
*/
void send_request(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                  std::uint64_t id, frame&& f, const call_options& o, call_handler h,
                  deadline_clock::time_point made_at = {});

/** Sends an encoded notify frame. `h` runs once the frame is handed to a connected mail
    box, or with the error that stopped it (`queue_full`, `connect_failed`, `not_sent`, ...).
*/
void send_notify(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                 frame&& f, status_handler h);

/** A handle on a station for a call that may outlive it (a client filter that continues
    later, a failure policy's retry delay, an attempt in the background). It does not keep
    the station alive; it holds the station's executor by value. Made from a live station;
    copying it costs an atomic increment, so the fast path (no filters, no policy) never
    makes one.
*/
class station_ref {
public:
    explicit station_ref(const mail_station& s);

    /// The station's executor: valid after the station is gone.
    const asio::any_io_executor& executor() const noexcept { return executor_; }

private:
    friend struct station_access;
    std::weak_ptr<void> state_; // the station's pimpl
    asio::any_io_executor executor_;
};

/// As `send_request` above; once the station is gone, `h` completes with `error::cancelled`
/// (posted to `s.executor()`).
void send_request(const station_ref& s, const station_view_ptr& v, std::string_view server_id,
                  std::uint64_t id, frame&& f, const call_options& o, call_handler h);

/// As `send_notify` above; once the station is gone, `h` completes with `error::cancelled`.
void send_notify(const station_ref& s, const station_view_ptr& v, std::string_view server_id,
                 frame&& f, status_handler h);

/** Calls `t->cancel_call(id)` once, from `close()` (the destructor's included), on the
    thread that closes the station. Returns false, registering nothing, if the station is
    closed or gone already. For calls that wait (a retry delay) outside the station.
*/
bool cancel_on_close(const station_ref& s, std::weak_ptr<cancel_target> t, std::uint64_t id);

} // namespace detail
} // namespace mailroom
