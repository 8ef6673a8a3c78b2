#pragma once

#include "support/fake_transport.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/router.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mailroom::test {

/** Three servers of one type on a station, each on a fake transport of its own ("t1" to
    "t3", ids "<type>-1" to "<type>-3"). A test opens a server's mail box and answers it, or
    leaves its connect hanging: its calls then fail with connect_failed after 30 ms, never
    sent.
*/
struct fake_servers {
    boost::asio::io_context ioc;
    fake_transport t[3];
    std::optional<mail_station> station;
    mailroom::router router;

    /// Makes the station (connect timeout 30 ms, no log) and its three servers of `type`.
    void start(const std::string& type)
    {
        mail_station_options o;
        o.connect_timeout = std::chrono::milliseconds(30);
        o.log.min_level = log_level::off;
        station.emplace(ioc.get_executor(), o);
        for (int i = 0; i < 3; ++i) {
            const auto n = std::to_string(i + 1);
            station->add_transport("t" + n, t[i].factory());
            station->add_server({.id = type + "-" + n, .server_type = type, .transport = "t" + n});
        }
    }

    /// Server `i`'s mail box once the station made it, opened (null if none came).
    std::shared_ptr<fake_mailbox> open(int i)
    {
        if (!run_until(ioc, [&] { return t[i].created() > 0; }))
            return nullptr;
        auto box = t[i].last();
        box->open();
        return box;
    }

    /// The id of the `n`th request `box` received, re-sends counted (0 if none came).
    std::uint64_t nth_request(const std::shared_ptr<fake_mailbox>& box, std::size_t n)
    {
        if (!run_until(ioc, [&] { return box->sent_request_ids().size() >= n; }))
            return 0;
        return box->sent_request_ids()[n - 1];
    }
};

} // namespace mailroom::test
