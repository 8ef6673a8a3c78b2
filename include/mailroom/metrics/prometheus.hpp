#pragma once

#include <mailroom/metrics/snapshot.hpp>

#include <string>
#include <string_view>

namespace mailroom::metrics {

/// The content type of @ref write_prometheus's output (text exposition format 0.0.4).
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/** Appends `s` to `out` in the Prometheus text exposition format 0.0.4: one `# HELP` and
    `# TYPE` line per family, label values escaped (`\\`, `\"`, `\n`), latencies as
    histograms in seconds (`_bucket{le="..."}` cumulative, `_sum`, `_count`). Families and
    labels are listed in docs/operations.md, "Metrics".
*/
void write_prometheus(const metrics_snapshot& s, std::string& out);

/// Escapes a label value: backslash, double quote and newline.
std::string escape_label(std::string_view value);

} // namespace mailroom::metrics
