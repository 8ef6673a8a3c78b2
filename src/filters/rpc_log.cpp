#include <mailroom/filters/rpc_log.hpp>

namespace mailroom::filters {

void rpc_log::after(const filter_call& call, std::error_code ec, std::chrono::nanoseconds elapsed)
{
    const bool slow = options_.slow.count() > 0 && elapsed > options_.slow;
    const log_level lvl = slow ? log_level::warning : options_.level;
    if (!options_.log.enabled(lvl))
        return;
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    options_.log.log(lvl, "rpc {} -> {} {}.{}.{}: {} in {:.3f} ms trace={} span={}{}", call.source,
                     call.target, call.ns, call.service, call.method, ec ? ec.message() : "ok",
                     ms, call.trace.trace_id_hex(), call.trace.span_id_hex(),
                     slow ? " (slow)" : "");
}

} // namespace mailroom::filters
