#include "latency_summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mailroom::tools {
namespace {

double to_us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

} // namespace

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q)
{
    const auto n = sorted.size();
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    return sorted[std::clamp<std::size_t>(rank, 1, n) - 1];
}

latency_summary summarise(std::vector<std::int64_t>& v, std::chrono::nanoseconds elapsed)
{
    latency_summary s;
    s.measured = v.size();
    s.seconds = std::chrono::duration<double>(elapsed).count();
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

} // namespace mailroom::tools
