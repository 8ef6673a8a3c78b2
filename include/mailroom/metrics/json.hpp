#pragma once

#include <mailroom/metrics/snapshot.hpp>

#include <string>

namespace mailroom::metrics {

/** `s` as JSON: an object with the fields of @ref metrics_snapshot, by the same names (the
    admin endpoint's `/status.json`, which the status page reads).
*/
std::string to_json(const metrics_snapshot& s);

} // namespace mailroom::metrics
