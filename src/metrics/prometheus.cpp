#include <mailroom/metrics/histogram.hpp>
#include <mailroom/metrics/prometheus.hpp>

#include <fmt/format.h>

#include <initializer_list>
#include <iterator>

namespace mailroom::metrics {

std::string escape_label(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

using label = std::pair<std::string_view, std::string_view>;

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}

    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
    }

    void sample(std::string_view name, std::initializer_list<label> labels, double value,
                std::string_view extra_name = {}, std::string_view extra_value = {})
    {
        out_ += name;
        bool any = false;
        auto one = [&](std::string_view k, std::string_view v) {
            out_ += any ? ',' : '{';
            any = true;
            fmt::format_to(std::back_inserter(out_), "{}=\"{}\"", k, escape_label(v));
        };
        for (const auto& [k, v] : labels)
            one(k, v);
        if (!extra_name.empty())
            one(extra_name, extra_value);
        if (any)
            out_ += '}';
        fmt::format_to(std::back_inserter(out_), " {}\n", value);
    }

    /// A histogram's `_bucket` (cumulative, in seconds), `_sum` and `_count` samples.
    void histogram_samples(std::string_view name, std::initializer_list<label> labels,
                           const std::vector<std::uint64_t>& buckets,
                           const std::vector<std::uint64_t>& bounds_us, std::uint64_t sum_us)
    {
        const std::string bucket = std::string(name) + "_bucket";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bounds_us.size() && i < buckets.size(); ++i) {
            cumulative += buckets[i];
            sample(bucket, labels, static_cast<double>(cumulative), "le",
                   fmt::format("{}", static_cast<double>(bounds_us[i]) / 1e6));
        }
        std::uint64_t total = 0;
        for (auto b : buckets)
            total += b;
        sample(bucket, labels, static_cast<double>(total), "le", "+Inf");
        sample(std::string(name) + "_sum", labels, static_cast<double>(sum_us) / 1e6);
        sample(std::string(name) + "_count", labels, static_cast<double>(total));
    }

private:
    std::string& out_;
};

} // namespace

void write_prometheus(const metrics_snapshot& s, std::string& out)
{
    writer w(out);
    w.family("mailroom_info", "gauge", "This server: always 1, its id and type as labels.");
    w.sample("mailroom_info", {{"server_id", s.server_id}, {"server_type", s.server_type}}, 1);
    w.family("mailroom_uptime_seconds", "gauge", "Time since the App started.");
    w.sample("mailroom_uptime_seconds", {}, static_cast<double>(s.uptime_ms) / 1e3);

    for (const std::string_view side : {"client", "server"}) {
        const std::string prefix = "mailroom_" + std::string(side) + "_";
        const bool client = side == "client";
        auto each = [&](auto f) {
            for (const auto& m : s.methods)
                if (m.side == side)
                    f(m);
        };
#define MAILROOM_METHOD_LABELS                                                                     \
    {"ns", m.ns}, {"server_type", m.server_type}, {"service", m.service}, { "method", m.method }
        w.family(prefix + "calls_total", "counter",
                 client ? "Calls this server made that completed, by method."
                        : "Calls this server answered, by method.");
        each([&](const method_snapshot& m) {
            w.sample(prefix + "calls_total", {MAILROOM_METHOD_LABELS}, static_cast<double>(m.calls));
        });
        w.family(prefix + "errors_total", "counter",
                 client ? "Calls this server made that failed, by method and error code."
                        : "Calls this server answered with an error, by method and error code.");
        each([&](const method_snapshot& m) {
            for (const auto& [code, n] : m.errors_by_code)
                w.sample(prefix + "errors_total", {MAILROOM_METHOD_LABELS}, static_cast<double>(n),
                         "code", code);
        });
        w.family(prefix + "in_flight", "gauge",
                 client ? "Calls this server made that have not completed, by method."
                        : "Calls this server is serving now, by method.");
        each([&](const method_snapshot& m) {
            w.sample(prefix + "in_flight", {MAILROOM_METHOD_LABELS}, static_cast<double>(m.in_flight));
        });
        w.family(prefix + "latency_seconds", "histogram",
                 client ? "Time from making a call to its completion, by method."
                        : "Time from receiving a call to sending its answer, by method.");
        each([&](const method_snapshot& m) {
            w.histogram_samples(prefix + "latency_seconds", {MAILROOM_METHOD_LABELS}, m.buckets,
                                s.bucket_bounds_us, m.latency_sum_us);
        });
#undef MAILROOM_METHOD_LABELS
    }

    w.family("mailroom_peer_calls_total", "counter",
             "Calls this server made to each server, completed.");
    for (const auto& p : s.peers)
        w.sample("mailroom_peer_calls_total",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}},
                 static_cast<double>(p.calls));
    w.family("mailroom_peer_errors_total", "counter",
             "Calls this server made to each server that failed.");
    for (const auto& p : s.peers)
        w.sample("mailroom_peer_errors_total",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}},
                 static_cast<double>(p.errors));
    w.family("mailroom_mailbox_state", "gauge",
             "The state of the mail box to each server: 1 for its current state.");
    for (const auto& p : s.peers)
        w.sample("mailroom_mailbox_state",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}, {"state", p.state}}, 1);
    w.family("mailroom_mailbox_queue_depth", "gauge",
             "Calls waiting for a response or the link, plus queued notifies, per server.");
    for (const auto& p : s.peers)
        w.sample("mailroom_mailbox_queue_depth",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}},
                 static_cast<double>(p.queue_depth));
    w.family("mailroom_mailbox_queued_bytes", "gauge",
             "Bytes queued while connecting and unsent on the link, per server.");
    for (const auto& p : s.peers)
        w.sample("mailroom_mailbox_queued_bytes",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}},
                 static_cast<double>(p.queued_bytes));
    w.family("mailroom_mailbox_reconnects_total", "counter",
             "Links opened to each server after the first one.");
    for (const auto& p : s.peers)
        w.sample("mailroom_mailbox_reconnects_total",
                 {{"server_id", p.server_id}, {"server_type", p.server_type}},
                 static_cast<double>(p.reconnects));

    w.family("mailroom_server_connections", "gauge", "Connections open to this server.");
    w.sample("mailroom_server_connections", {}, static_cast<double>(s.connections));
    w.family("mailroom_server_calls_in_flight", "gauge", "Calls this server is serving now.");
    w.sample("mailroom_server_calls_in_flight", {}, static_cast<double>(s.in_flight));
    w.family("mailroom_server_refusals_total", "counter",
             "Calls and links the server refused or failed, by reason.");
    for (const auto& [reason, n] : s.server_counters)
        w.sample("mailroom_server_refusals_total", {{"reason", reason}}, static_cast<double>(n));
    w.family("mailroom_filter_refusals_total", "counter",
             "Calls a filter refused, by end, filter and error code.");
    for (const auto& r : s.refusals)
        w.sample("mailroom_filter_refusals_total",
                 {{"side", r.side}, {"filter", r.filter}, {"code", r.code}},
                 static_cast<double>(r.count));
}

} // namespace mailroom::metrics
