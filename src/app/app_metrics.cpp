#include "status_page.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/metrics/json.hpp>
#include <mailroom/metrics/prometheus.hpp>

#include <charconv>
#include <map>

namespace mailroom {

metrics::metrics_snapshot basic_app::metrics_snapshot() const
{
    metrics::metrics_snapshot s;
    s.server_id = self_.id;
    s.server_type = self_.server_type;
    const auto up = started_flag_ ? std::chrono::steady_clock::now() - started_
                                  : std::chrono::steady_clock::duration::zero();
    s.uptime_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(up).count());
    s.time_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    s.enabled = metrics_ != nullptr;
    s.connections = server_->connections();
    s.in_flight = server_->in_flight();
    const auto c = server_->counters();
    s.server_counters = {{"busy", c.busy},
                         {"deadline_exceeded", c.deadline_exceeded},
                         {"shutting_down", c.shutting_down},
                         {"protocol_errors", c.protocol_errors},
                         {"remote_errors", c.remote_errors},
                         {"write_overflows", c.write_overflows},
                         {"auth_refused", c.auth_refused}};
    if (!metrics_)
        return s;
    metrics_->fill(s);
    // The cluster as the station sees it, with the calls made to each server: every server
    // of the table (never called ones too), then servers called that have left it.
    std::map<std::string, metrics::peer_snapshot, std::less<>> by_id;
    for (auto& p : s.peers)
        by_id.emplace(p.server_id, std::move(p));
    s.peers.clear();
    for (const auto& b : station_->mailboxes()) {
        metrics::peer_snapshot p;
        if (auto it = by_id.find(b.server_id); it != by_id.end()) {
            p = std::move(it->second);
            by_id.erase(it);
        }
        p.server_id = b.server_id;
        p.server_type = b.server_type;
        p.state = b.state;
        p.queue_depth = b.queue_depth;
        p.queued_bytes = b.queued_bytes;
        p.reconnects = b.reconnects;
        s.peers.push_back(std::move(p));
    }
    for (auto& [id, p] : by_id) {
        p.state = "gone";
        s.peers.push_back(std::move(p));
    }
    return s;
}

void basic_app::start_admin()
{
    auto options = options_.admin;
    if (!options.port) {
        // servers.json's fields beyond the known ones arrive as text.
        auto it = self_.options.find("admin_port");
        if (it == self_.options.end())
            return;
        unsigned port = 0;
        const auto& v = it->second;
        auto r = std::from_chars(v.data(), v.data() + v.size(), port);
        if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || port > 65'535)
            throw config_error(options_.config.string() + ": " + options_.env + ": server \"" +
                               self_.id + "\": admin_port: expected a port, got \"" + v + "\"");
        options.port = static_cast<std::uint16_t>(port);
    }
    if (auto it = self_.options.find("admin_host"); it != self_.options.end())
        options.address = it->second;
    admin_ = std::make_unique<admin_endpoint>(
        ioc_.get_executor(), options,
        [this](std::string_view path) -> std::optional<admin_endpoint::page> {
            if (path == "/metrics") {
                admin_endpoint::page p{200, std::string(metrics::prometheus_content_type), {}};
                metrics::write_prometheus(metrics_snapshot(), p.body);
                return p;
            }
            if (path == "/status.json")
                return admin_endpoint::page{200, "application/json",
                                            metrics::to_json(metrics_snapshot())};
            if (path == "/" || path == "/index.html")
                return admin_endpoint::page{200, "text/html; charset=utf-8",
                                            std::string(detail::status_page_html())};
            return std::nullopt;
        });
    if (auto ec = admin_->listen())
        throw std::system_error(ec, self_.id + ": admin endpoint: cannot listen on " +
                                        options.address + ":" +
                                        std::to_string(options.port.value_or(0)));
    options_.log.log(log_level::info, "{}: admin endpoint on http://{}:{}/", self_.id,
                     options.address, admin_->port());
}

} // namespace mailroom
