#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mailroom::load {
namespace {

double to_us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Nearest-rank percentile of sorted values: the smallest value with at least q of the
// samples at or below it.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q)
{
    const auto n = sorted.size();
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    return sorted[std::clamp<std::size_t>(rank, 1, n) - 1];
}

} // namespace

summary summarise(run_result& r)
{
    summary s;
    auto& v = r.latencies_ns;
    s.measured = v.size();
    s.seconds = std::chrono::duration<double>(r.elapsed).count();
    if (s.seconds > 0)
        s.calls_per_sec = static_cast<double>(s.measured) / s.seconds;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    const double sum = std::accumulate(v.begin(), v.end(), 0.0, [](double acc, std::int64_t x) {
        return acc + static_cast<double>(x);
    });
    s.min_us = to_us(v.front());
    s.mean_us = sum / static_cast<double>(v.size()) / 1000.0;
    s.p50_us = to_us(percentile(v, 0.50));
    s.p90_us = to_us(percentile(v, 0.90));
    s.p99_us = to_us(percentile(v, 0.99));
    s.p999_us = to_us(percentile(v, 0.999));
    s.max_us = to_us(v.back());
    return s;
}

std::string format_json(const load_options& o, const run_result& r, const summary& s)
{
    // transport and mode come from fixed sets of plain words: nothing needs escaping.
    return fmt::format(
        "{{\"transport\":\"{}\",\"mode\":\"{}\",\"calls\":{},\"warmup_calls\":{},"
        "\"measured_calls\":{},\"errors\":{},\"inflight\":{},\"payload\":{},\"threads\":{},"
        "\"seconds\":{:.6f},\"calls_per_sec\":{:.1f},\"min_us\":{:.1f},\"mean_us\":{:.1f},"
        "\"p50_us\":{:.1f},\"p90_us\":{:.1f},\"p99_us\":{:.1f},\"p999_us\":{:.1f},"
        "\"max_us\":{:.1f}}}\n",
        o.transport, to_string(o.mode), r.calls, r.warmup_calls, s.measured, r.errors, o.inflight,
        o.payload, o.threads, s.seconds, s.calls_per_sec, s.min_us, s.mean_us, s.p50_us, s.p90_us,
        s.p99_us, s.p999_us, s.max_us);
}

std::string format_text(const load_options& o, const run_result& r, const summary& s)
{
    return fmt::format(
        "mailroom-load: {} echo over {}, {} threads, {} in flight, {}-byte payload\n"
        "  calls      {} ({} warm-up, {} measured), {} errors\n"
        "  time       {:.3f} s\n"
        "  throughput {:.0f} calls/s\n"
        "  latency us min {:.1f}  mean {:.1f}  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  "
        "p99.9 {:.1f}  max {:.1f}\n",
        to_string(o.mode), o.transport, o.threads, o.inflight, o.payload, r.calls,
        r.warmup_calls, s.measured, r.errors, s.seconds, s.calls_per_sec, s.min_us, s.mean_us,
        s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us);
}

} // namespace mailroom::load
