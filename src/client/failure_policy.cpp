#include <mailroom/client/failure_policy.hpp>

#include <mailroom/error.hpp>

#include <algorithm>
#include <chrono>

namespace mailroom {

std::vector<const server_info*> call_failure::candidates() const
{
    std::vector<const server_info*> out;
    for (const server_info* s : servers.of_type(call.server_type))
        if (std::find(failed.begin(), failed.end(), s->id) == failed.end())
            out.push_back(s);
    return out;
}

void failure_policies::set_default(std::shared_ptr<failure_policy> policy)
{
    std::lock_guard lock(mu_);
    default_ = std::move(policy);
    any_.store(default_ || !by_type_.empty(), std::memory_order_release);
}

void failure_policies::set(std::string server_type, std::shared_ptr<failure_policy> policy)
{
    std::lock_guard lock(mu_);
    if (policy)
        by_type_[std::move(server_type)] = std::move(policy);
    else
        by_type_.erase(server_type);
    any_.store(default_ || !by_type_.empty(), std::memory_order_release);
}

std::shared_ptr<failure_policy> failure_policies::for_type(std::string_view server_type) const
{
    std::lock_guard lock(mu_);
    auto it = by_type_.find(server_type);
    return it == by_type_.end() ? default_ : it->second;
}

} // namespace mailroom

namespace mailroom {
namespace {

bool is_cancellation(std::error_code ec) noexcept
{
    return ec == error::cancelled || ec == std::errc::operation_canceled;
}

/// A cheap, thread-safe source of spread (splitmix64 over a counter).
std::uint64_t next_random(std::atomic<std::uint64_t>& state) noexcept
{
    std::uint64_t z = state.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed) +
                      0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::atomic<std::uint64_t> jitter_state{
    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};

/// Whether a call whose outcome is `kind` may be sent again at all.
bool may_resend(failure_kind kind, const call_failure& f, const idempotence& idempotent)
{
    switch (kind) {
    case failure_kind::not_run:
        return true;
    case failure_kind::unknown:
        return idempotent && idempotent(f.call);
    case failure_kind::final:
        return false;
    }
    return false;
}

} // namespace

failure_kind classify(const call_failure& f) noexcept
{
    const std::error_code ec = f.error;
    if (!ec || is_cancellation(ec))
        return failure_kind::final;
    if (ec.category() == error_category()) {
        switch (static_cast<error>(ec.value())) {
        // The call itself is at fault, or the handler ran: the same on every server.
        case error::not_encodable:
        case error::frame_too_large:
        case error::bad_arguments:
        case error::unknown_service:
        case error::unknown_method:
        case error::remote_error:
        case error::bad_result:
        case error::protocol_error:
        case error::deadline_exceeded:
            return failure_kind::final;
        // Refused by the callee before its handler ran.
        case error::server_busy:
        case error::shutting_down:
            return failure_kind::not_run;
        case error::disconnected:
        case error::timeout:
        case error::keepalive_timeout:
            return f.sent ? failure_kind::unknown : failure_kind::not_run;
        default:
            break;
        }
    }
    // Anything else that never left this process (connect_failed, not_sent, queue_full, a
    // client filter's own code, a transport's error) did not run; anything else that was sent
    // may have.
    return f.sent ? failure_kind::unknown : failure_kind::not_run;
}

bool is_permanent_for_server(std::error_code ec) noexcept
{
    // condition::permanent: wrong_server, version_mismatch, the auth refusals, and the
    // transports' own (a certificate refused, a WebSocket upgrade refused with 401/403/404).
    return ec == condition::permanent || ec == error::wrong_server ||
           ec == error::version_mismatch || ec == error::unknown_server ||
           ec == error::unknown_transport || ec == error::no_target_server;
}

idempotence idempotent_methods(std::vector<std::string> methods)
{
    std::sort(methods.begin(), methods.end());
    return [methods = std::move(methods)](const filter_call& c) {
        const std::string short_name = c.service + '.' + c.method;
        const std::string long_name = c.server_type + '.' + short_name;
        return std::binary_search(methods.begin(), methods.end(), short_name) ||
               std::binary_search(methods.begin(), methods.end(), long_name);
    };
}

std::chrono::milliseconds backoff_settings::delay(unsigned attempt) const noexcept
{
    double d = static_cast<double>(initial.count());
    for (unsigned i = 1; i < attempt && d < static_cast<double>(max.count()); ++i)
        d *= multiplier;
    d = std::min(d, static_cast<double>(max.count()));
    if (jitter) {
        const double u = static_cast<double>(next_random(jitter_state) >> 11) * 0x1.0p-53;
        d = d / 2 + u * d / 2;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(d));
}

retry_decision failover::on_failure(const call_failure& f)
{
    if (!f.routed || f.call.attempt >= options_.max_attempts ||
        !may_resend(classify(f), f, options_.idempotent))
        return retry_decision::complete();
    const auto c = f.candidates();
    if (c.empty())
        return retry_decision::complete();
    return retry_decision::resend(c[next_random(pick_) % c.size()]->id);
}

retry_decision failsafe::on_failure(const call_failure& f)
{
    if (f.call.attempt > options_.max_retries || is_permanent_for_server(f.error) ||
        !may_resend(classify(f), f, options_.idempotent))
        return retry_decision::complete();
    return retry_decision::resend(f.call.target, options_.backoff.delay(f.call.attempt));
}

retry_decision failback::on_failure(const call_failure& f)
{
    if (is_permanent_for_server(f.error) || !may_resend(classify(f), f, options_.idempotent))
        return retry_decision::complete(); // a kept call ends here: on_done counts it
    bool full = false;
    {
        std::lock_guard lock(mu_);
        if (!kept_.contains(&f.call)) {
            full = kept_.size() >= options_.max_queued;
            if (full)
                ++counts_.overflows;
            else
                kept_.insert(&f.call);
        }
    }
    if (full) {
        log_line("overflow", "not kept for re-sending, the failback queue is full", f.call,
                 f.error);
        return retry_decision::complete();
    }
    retry_decision d = retry_decision::resend(f.call.target, options_.backoff.delay(f.call.attempt));
    d.in_background = true;
    return d;
}

void failback::on_done(const filter_call& call, std::error_code outcome)
{
    {
        std::lock_guard lock(mu_);
        if (kept_.erase(&call) == 0)
            return;
        if (!outcome) {
            ++counts_.delivered;
            return;
        }
        ++counts_.given_up;
    }
    log_line("given_up", "given up", call, outcome);
}

failback::counters failback::stats() const
{
    std::lock_guard lock(mu_);
    counters c = counts_;
    c.queued = kept_.size();
    return c;
}

void failback::log_line(std::string_view key, std::string_view what, const filter_call& call,
                        std::error_code ec)
{
    const auto& log = options_.log;
    if (!log.enabled(log_level::warning))
        return;
    std::uint64_t suppressed = 0;
    if (!limiter_.admit(key, log_limiter::clock::now(), suppressed))
        return;
    log.log(log_level::warning, "failback: {}.{}.{} to {}: {} ({}); {} similar lines suppressed",
            call.server_type, call.service, call.method, call.target, what, ec.message(),
            suppressed);
}

} // namespace mailroom
