#pragma once

// The seam between the call pipeline and the mail station: everything the pipeline needs
// from a station, and nothing else. Internal; not part of the public API.

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/server_table.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/frame.hpp>

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

namespace mailroom::detail {

struct station_view; // opaque snapshot: the server table and the servers' mail boxes

using station_view_ptr = std::shared_ptr<const station_view>;

/// The station's current snapshot (one lock).
inline station_view_ptr view_of(const mail_station& s) { return s.view(); }

/// The server table of a snapshot.
inline const server_table& table_of(const station_view& v) noexcept
{
    return mail_station::table_of(v);
}

/// A fresh request id; ids are never reused by a station.
inline std::uint64_t next_request_id(mail_station& s) noexcept { return s.next_request_id(); }

/// The station's executor, valid while the station lives.
inline const asio::any_io_executor& executor_ref(const mail_station& s) noexcept
{
    return s.executor_ref();
}

/// Sends a request on the snapshot; `h` completes exactly once (posted for errors found here).
inline void send_request(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                         std::uint64_t id, frame&& f, const call_options& o, call_handler h)
{
    s.send_request(v, server_id, id, std::move(f), o, std::move(h));
}

/// Sends a notify on the snapshot; `h` completes exactly once.
inline void send_notify(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                        frame&& f, status_handler h)
{
    s.send_notify(v, server_id, std::move(f), std::move(h));
}

} // namespace mailroom::detail
