#include <mailroom/error.hpp>
#include <mailroom/metrics/call_stats.hpp>
#include <mailroom/metrics/registry.hpp>

#include <algorithm>
#include <bit>
#include <utility>

namespace mailroom::metrics {

namespace detail {
namespace {

static_assert(counter_cells <= 32);

struct cell_release {
    ~cell_release()
    {
        // Counts this thread makes from now on (other thread-locals' destructors) go to the
        // shared cell.
        const auto i = std::exchange(counter_cell_index, counter_cells);
        if (i < counter_cells) // the next owner's claim sees every count made here
            counter_cells_taken.fetch_and(~(std::uint32_t{1} << i), std::memory_order_release);
    }
};

} // namespace

std::size_t claim_counter_cell() noexcept
{
    thread_local cell_release release; // gives the cell back when the thread exits
    (void)release;
    constexpr std::uint32_t all = counter_cells == 32 ? ~std::uint32_t{0}
                                                      : (std::uint32_t{1} << counter_cells) - 1;
    auto taken = counter_cells_taken.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint32_t free = ~taken & all;
        if (free == 0)
            return counter_cell_index = counter_cells;
        const auto i = static_cast<std::size_t>(std::countr_zero(free));
        if (counter_cells_taken.compare_exchange_weak(taken, taken | (std::uint32_t{1} << i),
                                              std::memory_order_acquire, std::memory_order_relaxed))
            return counter_cell_index = i;
    }
}

} // namespace detail

std::string_view to_string(side s) noexcept
{
    return s == side::client ? "client" : "server";
}

std::string_view code_name(std::error_code ec) noexcept
{
    if (ec.category() != error_category())
        return "other";
    switch (static_cast<error>(ec.value())) {
    case error::no_target_server: return "no_target_server";
    case error::connect_failed: return "connect_failed";
    case error::timeout: return "timeout";
    case error::disconnected: return "disconnected";
    case error::server_busy: return "server_busy";
    case error::queue_full: return "queue_full";
    case error::unknown_service: return "unknown_service";
    case error::unknown_method: return "unknown_method";
    case error::bad_arguments: return "bad_arguments";
    case error::remote_error: return "remote_error";
    case error::frame_too_large: return "frame_too_large";
    case error::protocol_error: return "protocol_error";
    case error::version_mismatch: return "version_mismatch";
    case error::cancelled: return "cancelled";
    case error::unknown_transport: return "unknown_transport";
    case error::unknown_server: return "unknown_server";
    case error::bad_result: return "bad_result";
    case error::keepalive_timeout: return "keepalive_timeout";
    case error::deadline_exceeded: return "deadline_exceeded";
    case error::shutting_down: return "shutting_down";
    case error::not_sent: return "not_sent";
    case error::wrong_server: return "wrong_server";
    case error::not_encodable: return "not_encodable";
    case error::handshake_timeout: return "handshake_timeout";
    case error::auth_failed: return "auth_failed";
    case error::auth_required: return "auth_required";
    case error::auth_unavailable: return "auth_unavailable";
    }
    return "other";
}

double quantile_us(std::span<const std::uint64_t> counts, double q) noexcept
{
    std::uint64_t total = 0;
    for (auto c : counts)
        total += c;
    if (total == 0 || counts.empty())
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The rank of the wanted call, 1-based; interpolated inside its bucket.
    const double rank = std::max(1.0, q * static_cast<double>(total));
    double seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const double here = static_cast<double>(counts[i]);
        if (here > 0 && seen + here >= rank) {
            if (i >= histogram::bounds)
                return static_cast<double>(histogram::bound_us(histogram::bounds - 1));
            const double lo = i == 0 ? 0.0 : static_cast<double>(histogram::bound_us(i - 1));
            const double hi = static_cast<double>(histogram::bound_us(i));
            return lo + (hi - lo) * ((rank - seen) / here);
        }
        seen += here;
    }
    return static_cast<double>(histogram::bound_us(histogram::bounds - 1));
}

call_stats::call_stats(registry* owner, side s, std::string ns, std::string server_type,
                       std::string service, std::string method, std::string server_id)
    : owner_(owner), side_(s), ns_(std::move(ns)), server_type_(std::move(server_type)),
      service_(std::move(service)), method_(std::move(method)), server_id_(std::move(server_id)),
      slow_(owner ? owner->slow_call() : std::chrono::milliseconds(0)),
      timed_per_window_(owner ? owner->timed_calls_per_window()
                            : registry_options{}.timed_calls_per_window)
{
}

void call_stats::report_slow(std::chrono::nanoseconds took, const trace_context& trace,
                             std::string_view peer, std::error_code ec) noexcept
{
    if (owner_)
        owner_->slow(*this, took, trace, peer, ec);
}

void call_stats::count_error(std::error_code ec, std::string_view peer) noexcept
{
    const std::size_t slot =
        ec.category() == error_category() && ec.value() > 0 &&
                static_cast<std::size_t>(ec.value()) < error_slots
            ? static_cast<std::size_t>(ec.value())
            : 0;
    errors_[slot].fetch_add(1, std::memory_order_relaxed);
    // A server's series repeats its method's call: the ring gets each failure once.
    if (owner_ && server_id_.empty())
        owner_->failed(*this, ec, peer);
}

} // namespace mailroom::metrics
