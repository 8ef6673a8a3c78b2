#include "echo_load.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailroom::load {
namespace {

std::string make_payload(std::uint64_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

} // namespace

protocol::method_path echo_path()
{
    return {.server_type = "echo", .service = "echoRemote", .method = "echo"};
}

void bind_echo(dispatcher& d)
{
    d.add("echoRemote", "echo", [](std::string s) { return s; });
}

std::size_t frame_limit(const load_options& o) noexcept
{
    // Room for the envelope (ids, path, metadata) around the payload.
    return std::max<std::size_t>(8u << 20, o.payload + 4096);
}

echo_load::echo_load(proxy& rpc, const load_options& o, std::function<void()> done)
    : rpc_(rpc), o_(o), done_(std::move(done)), path_(echo_path()),
      args_(make_payload(o.payload)), warmup_(warmup_calls(o)), latency_ns_(o.calls)
{
}

void echo_load::start()
{
    if (warmup_ > 0) {
        start_phase(warmup_);
    } else {
        started_ = clock::now();
        start_phase(o_.calls);
    }
}

void echo_load::start_phase(std::uint64_t end)
{
    phase_end_.store(end);
    // Held while issuing, so a call completing on another thread meanwhile cannot end
    // the phase early.
    outstanding_.store(1);
    const auto width = std::min(o_.inflight, end - next_.load());
    for (std::uint64_t k = 0; k < width; ++k)
        issue();
    if (outstanding_.fetch_sub(1) == 1)
        on_phase_done();
}

void echo_load::issue()
{
    if (stop_.load())
        return;
    const auto i = next_.fetch_add(1);
    if (i >= phase_end_.load())
        return; // the phase has all its calls; the overshoot is reset by the next phase
    outstanding_.fetch_add(1);
    const auto t0 = clock::now();
    rpc_.async_call<std::string>(
        path_, route_param{}, args_,
        [this, i, t0](std::error_code ec, std::string s) { on_reply(i, t0, ec, s); });
}

void echo_load::on_reply(std::uint64_t i, clock::time_point t0, std::error_code ec,
                         const std::string& s)
{
    latency_ns_[i] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count();
    if (ec)
        record_error(fmt::format("call {}: {} ({})", i, ec.message(), ec.category().name()));
    else if (s != std::get<0>(args_))
        record_error(fmt::format("call {}: wrong echo ({} bytes back, {} sent)", i, s.size(),
                                 std::get<0>(args_).size()));
    completed_.fetch_add(1);
    // The successor is issued before this call stops counting as outstanding: when the
    // count reaches zero, no completion of this phase can issue any more.
    issue();
    if (outstanding_.fetch_sub(1) == 1)
        on_phase_done();
}

void echo_load::on_phase_done()
{
    const auto now = clock::now();
    if (phase_end_.load() == o_.calls || stop_.load()) {
        if (phase_end_.load() != o_.calls)
            started_ = now; // stopped in the warm-up: nothing was measured
        finished_ = now;
        done_();
        return;
    }
    // The warm-up is over: the clock starts now, for the remaining calls.
    next_.store(warmup_);
    started_ = clock::now();
    start_phase(o_.calls);
}

void echo_load::record_error(std::string why)
{
    // A failure makes the run meaningless, and after a lost server every further call
    // would wait out a connect timeout: issue nothing more, let the calls in flight end.
    stop_.store(true);
    if (errors_.fetch_add(1) == 0) {
        std::lock_guard lock(error_mu_);
        first_error_ = std::move(why);
    }
}

run_result echo_load::take_result()
{
    run_result r;
    r.calls = completed_.load();
    r.warmup_calls = std::min(warmup_, r.calls);
    r.errors = errors_.load();
    {
        std::lock_guard lock(error_mu_);
        r.first_error = first_error_;
    }
    r.elapsed = finished_ - started_;
    // Issued calls are numbered contiguously from 0 and all have completed.
    if (r.calls > warmup_) {
        latency_ns_.resize(r.calls);
        latency_ns_.erase(latency_ns_.begin(),
                          latency_ns_.begin() + static_cast<std::ptrdiff_t>(warmup_));
        r.latencies_ns = std::move(latency_ns_);
    }
    return r;
}

} // namespace mailroom::load
