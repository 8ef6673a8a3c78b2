#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailroom::load {
namespace {

// Counts print as integers, the rest with one decimal (three for seconds and ratios);
// unknown (negative) values as null.
std::string json_number(const std::string& key, double v)
{
    if (v < 0 && key.find("ratio") == std::string::npos)
        return "null";
    if (key == "seconds" || key.find("ratio") != std::string::npos || key.find("cpu_us") != std::string::npos)
        return fmt::format("{:.3f}", v);
    if (key.ends_with("_us") || key == "calls_per_sec")
        return fmt::format("{:.1f}", v);
    return fmt::format("{:.0f}", v);
}

std::string json_fields(const std::vector<std::pair<std::string, double>>& fields)
{
    std::string out;
    for (const auto& [k, v] : fields)
        out += fmt::format(",\"{}\":{}", k, json_number(k, v));
    return out;
}

std::string cpu_text(double v) { return v < 0 ? std::string("?") : fmt::format("{:.2f}", v); }

std::vector<std::pair<std::string, double>> medians(const load_options& o,
                                                    const std::vector<measurement>& runs)
{
    std::vector<std::pair<std::string, double>> out;
    if (runs.empty())
        return out;
    auto first = numbers(o, runs.front());
    for (std::size_t k = 0; k < first.size(); ++k) {
        std::vector<double> v;
        for (const auto& m : runs)
            v.push_back(numbers(o, m)[k].second);
        out.emplace_back(first[k].first, median(std::move(v)));
    }
    return out;
}

double field(const std::vector<std::pair<std::string, double>>& f, std::string_view key)
{
    for (const auto& [k, v] : f)
        if (k == key)
            return v;
    return -1;
}

// Median over rounds of main/raw for one key.
double ratio(const load_options& o, const std::vector<measurement>& main,
             const std::vector<measurement>& raw, std::string_view key)
{
    std::vector<double> r;
    for (std::size_t i = 0; i < std::min(main.size(), raw.size()); ++i) {
        const double a = field(numbers(o, main[i]), key);
        const double b = field(numbers(o, raw[i]), key);
        if (a >= 0 && b > 0)
            r.push_back(a / b);
    }
    return median(std::move(r));
}

constexpr std::string_view ratio_keys[] = {"calls_per_sec", "p50_us", "p99_us", "p999_us",
                                           "cpu_us_per_call"};

} // namespace

double median(std::vector<double> v)
{
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

summary summarise(run_result& r)
{
    return tools::summarise(r.latencies_ns, r.elapsed);
}

std::vector<std::pair<std::string, double>> numbers(const load_options& o, const measurement& m)
{
    const auto& r = m.result;
    const auto& s = m.sum;
    const auto& u = m.use;
    auto d = [](auto x) { return static_cast<double>(x); };
    return {{"calls", d(r.calls)},
            {"warmup_calls", d(r.warmup_calls)},
            {"measured_calls", d(s.measured)},
            {"errors", d(r.errors)},
            {"inflight", d(o.inflight)},
            {"payload", d(o.payload)},
            {"threads", d(o.threads)},
            {"connections", d(o.connections)},
            {"seconds", s.seconds},
            {"calls_per_sec", s.calls_per_sec},
            {"min_us", s.min_us},
            {"mean_us", s.mean_us},
            {"p50_us", s.p50_us},
            {"p90_us", s.p90_us},
            {"p99_us", s.p99_us},
            {"p999_us", s.p999_us},
            {"max_us", s.max_us},
            {"cpu_us_per_call", u.cpu_us_per_call},
            {"client_cpu_us_per_call", u.client_cpu_us_per_call},
            {"server_cpu_us_per_call", u.server_cpu_us_per_call},
            {"redis_cpu_us_per_call", u.redis_cpu_us_per_call},
            {"peak_rss_kib", u.peak_rss_kib},
            {"server_peak_rss_kib", u.server_peak_rss_kib},
            {"latency_store_kib", d(r.latency_store_kib)}};
}

std::string format_json(const load_options& o, const measurement& m)
{
    // transport, mode and scope come from fixed sets of plain words: nothing needs escaping.
    return fmt::format("{{\"transport\":\"{}\",\"mode\":\"{}\",\"pin\":\"{}\",\"cpu_scope\":\"{}\"{}}}\n",
                       m.transport, to_string(o.mode),
                       o.client_cpus.empty() ? std::string()
                                             : format_cpus(o.client_cpus) + "/" +
                                                   format_cpus(o.server_cpus),
                       m.use.cpu_scope, json_fields(numbers(o, m)));
}

std::string format_text(const load_options& o, const measurement& m)
{
    const auto& r = m.result;
    const auto& s = m.sum;
    const auto& u = m.use;
    return fmt::format(
        "mailroom-load: {} echo over {}, {} threads, {} connections, {} in flight, {}-byte "
        "payload{}\n"
        "  calls      {} ({} warm-up, {} measured), {} errors\n"
        "  time       {:.3f} s\n"
        "  throughput {:.0f} calls/s\n"
        "  latency us min {:.1f}  mean {:.1f}  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  "
        "p99.9 {:.1f}  max {:.1f}\n"
        "  cpu us/call {} ({}; client {}, server {}, redis {})\n"
        "  peak rss   client {:.0f} KiB (latencies {} KiB), server {}\n",
        to_string(o.mode), m.transport, o.threads, o.connections, o.inflight, o.payload,
        o.client_cpus.empty() ? std::string()
                              : fmt::format(", pinned {}/{}", format_cpus(o.client_cpus),
                                            format_cpus(o.server_cpus)),
        r.calls, r.warmup_calls, s.measured, r.errors, s.seconds, s.calls_per_sec, s.min_us,
        s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us, cpu_text(u.cpu_us_per_call),
        u.cpu_scope, cpu_text(u.client_cpu_us_per_call), cpu_text(u.server_cpu_us_per_call),
        cpu_text(u.redis_cpu_us_per_call), u.peak_rss_kib, r.latency_store_kib,
        u.server_peak_rss_kib < 0 ? std::string("?")
                                  : fmt::format("{:.0f} KiB", u.server_peak_rss_kib));
}

std::string format_rounds_json(const load_options& o, const std::vector<measurement>& main,
                               const std::vector<measurement>& raw)
{
    std::string out = fmt::format(
        "{{\"transport\":\"{}\",\"mode\":\"{}\",\"pin\":\"{}\",\"cpu_scope\":\"{}\",\"runs\":{}{}",
        main.empty() ? o.transport : main.front().transport, to_string(o.mode),
        o.client_cpus.empty() ? std::string()
                              : format_cpus(o.client_cpus) + "/" + format_cpus(o.server_cpus),
        main.empty() ? std::string() : main.front().use.cpu_scope, main.size(),
        json_fields(medians(o, main)));
    if (!raw.empty()) {
        out += fmt::format(",\"raw\":{{\"transport\":\"{}\",\"runs\":{}{}}}",
                           raw.front().transport, raw.size(), json_fields(medians(o, raw)));
        for (auto key : ratio_keys)
            out += fmt::format(",\"ratio_{}\":{:.3f}", key, ratio(o, main, raw, key));
    }
    return out + "}\n";
}

std::string format_rounds_text(const load_options& o, const std::vector<measurement>& main,
                               const std::vector<measurement>& raw)
{
    // Over Redis a column for redis-server's CPU per call.
    bool redis = false;
    for (const auto* runs : {&main, &raw})
        for (const auto& m : *runs)
            redis = redis || m.use.redis_cpu_us_per_call >= 0;
    std::string out = fmt::format(
        "mailroom-load: {} rounds, {} mode, {} in flight, {}-byte payload, {} connections, {} "
        "threads{}\n"
        "  {:<5} {:<11} {:>12} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}{}\n",
        main.size(), to_string(o.mode), o.inflight, o.payload, o.connections, o.threads,
        o.client_cpus.empty() ? std::string()
                              : fmt::format(", pinned {}/{}", format_cpus(o.client_cpus),
                                            format_cpus(o.server_cpus)),
        "round", "transport", "calls/s", "p50 us", "p99 us", "p99.9 us", "cpu us/call",
        "client", "server", redis ? fmt::format(" {:>10}", "redis") : std::string());
    auto row = [&](const std::string& round, const std::string& t, double calls_per_sec,
                   double p50, double p99, double p999, double cpu, double client, double server,
                   double redis_cpu) {
        return fmt::format("  {:<5} {:<11} {:>12.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>10} {:>10} "
                           "{:>10}{}\n",
                           round, t, calls_per_sec, p50, p99, p999, cpu_text(cpu),
                           cpu_text(client), cpu_text(server),
                           redis ? fmt::format(" {:>10}", cpu_text(redis_cpu)) : std::string());
    };
    auto line = [&](const std::string& round, const measurement& m) {
        return row(round, m.transport, m.sum.calls_per_sec, m.sum.p50_us, m.sum.p99_us,
                   m.sum.p999_us, m.use.cpu_us_per_call, m.use.client_cpu_us_per_call,
                   m.use.server_cpu_us_per_call, m.use.redis_cpu_us_per_call);
    };
    for (std::size_t i = 0; i < main.size(); ++i) {
        out += line(std::to_string(i + 1), main[i]);
        if (i < raw.size())
            out += line(std::to_string(i + 1), raw[i]);
    }
    auto med = [&](const std::vector<measurement>& runs) {
        auto f = medians(o, runs);
        return row("med", runs.front().transport, field(f, "calls_per_sec"), field(f, "p50_us"),
                   field(f, "p99_us"), field(f, "p999_us"), field(f, "cpu_us_per_call"),
                   field(f, "client_cpu_us_per_call"), field(f, "server_cpu_us_per_call"),
                   field(f, "redis_cpu_us_per_call"));
    };
    if (!main.empty())
        out += med(main);
    if (!raw.empty()) {
        out += med(raw);
        out += fmt::format("  mailroom/{} (median of per-round ratios):", raw.front().transport);
        for (auto key : ratio_keys)
            out += fmt::format(" {} {:.3f}", key, ratio(o, main, raw, key));
        out += "\n";
    }
    return out;
}

} // namespace mailroom::load
