#include "echo_load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace mailroom::load {

std::string make_payload(std::uint64_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

sample_store::sample_store(std::uint64_t capacity, bool preallocate)
    : capacity_(capacity), chunks_n_((capacity + chunk_size - 1) / chunk_size),
      chunks_(std::make_unique<std::atomic<std::int64_t*>[]>(chunks_n_))
{
    for (std::size_t k = 0; k < chunks_n_; ++k)
        chunks_[k].store(nullptr);
    if (preallocate)
        for (std::size_t k = 0; k < chunks_n_; ++k)
            chunk(k);
}

sample_store::~sample_store()
{
    for (std::size_t k = 0; k < chunks_n_; ++k)
        delete[] chunks_[k].load();
}

std::int64_t* sample_store::chunk(std::size_t k)
{
    auto* p = chunks_[k].load(std::memory_order_acquire);
    if (p)
        return p;
    auto* fresh = new std::int64_t[chunk_size];
    std::fill(fresh, fresh + chunk_size, std::int64_t{-1});
    if (chunks_[k].compare_exchange_strong(p, fresh, std::memory_order_acq_rel))
        return fresh;
    delete[] fresh; // another thread won
    return p;
}

void sample_store::set(std::uint64_t i, std::int64_t ns)
{
    if (i < capacity_)
        chunk(i / chunk_size)[i % chunk_size] = ns;
}

std::int64_t sample_store::get(std::uint64_t i) const
{
    if (i >= capacity_)
        return -1;
    auto* p = chunks_[i / chunk_size].load(std::memory_order_acquire);
    return p ? p[i % chunk_size] : -1;
}

std::uint64_t sample_store::kib() const noexcept
{
    std::uint64_t n = 0;
    for (std::size_t k = 0; k < chunks_n_; ++k)
        n += chunks_[k].load() ? 1 : 0;
    return n * chunk_size * sizeof(std::int64_t) / 1024;
}

echo_load::echo_load(const load_options& o, load_hooks hooks)
    : o_(o), hooks_(std::move(hooks)), payload_(make_payload(o.payload)), warmup_(warmup_calls(o)),
      timed_(o.duration_s > 0),
      // A timed run keeps up to 2^32 samples, allocated as it goes; a counted run allocates
      // all of them up front so the hot path never does.
      latency_ns_(timed_ ? (std::uint64_t{1} << 32) : o.calls, !timed_)
{
}

void echo_load::start(caller& c)
{
    caller_ = &c;
    if (warmup_ > 0) {
        start_phase(warmup_);
    } else {
        if (hooks_.measure_begin)
            hooks_.measure_begin();
        begin_measuring();
        start_phase(timed_ ? std::numeric_limits<std::uint64_t>::max() : o_.calls);
    }
}

void echo_load::begin_measuring()
{
    started_ = clock::now();
    deadline_ = started_ + std::chrono::duration_cast<clock::duration>(
                               std::chrono::duration<double>(o_.duration_s));
    // Published after the clock fields: a completion on another thread that sees
    // `measuring_` also sees the deadline.
    measuring_.store(true, std::memory_order_release);
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
    if (stop_.load(std::memory_order_relaxed) || time_up_.load(std::memory_order_relaxed))
        return;
    const auto t0 = clock::now();
    if (timed_ && measuring_.load(std::memory_order_acquire) && t0 >= deadline_) {
        time_up_.store(true);
        return;
    }
    const auto i = next_.fetch_add(1);
    if (i >= phase_end_.load() || i >= latency_ns_.capacity())
        return; // the phase has all its calls; the overshoot is reset by the next phase
    outstanding_.fetch_add(1);
    caller_->call(i, t0);
}

void echo_load::on_reply(std::uint64_t i, clock::time_point t0, std::error_code ec,
                         std::string_view echo)
{
    latency_ns_.set(i, std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0)
                           .count());
    if (ec)
        record_error(fmt::format("call {}: {} ({})", i, ec.message(), ec.category().name()));
    else if (echo != payload_)
        record_error(fmt::format("call {}: wrong echo ({} bytes back, {} sent)", i, echo.size(),
                                 payload_.size()));
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
    if (measuring_.load() || stop_.load()) {
        if (!measuring_.load())
            started_ = now; // stopped in the warm-up: nothing was measured
        finished_ = now;
        if (measuring_.load() && hooks_.measure_end)
            hooks_.measure_end();
        if (hooks_.done)
            hooks_.done();
        return;
    }
    // The warm-up is over: the clock starts now, for the remaining calls.
    if (hooks_.measure_begin)
        hooks_.measure_begin();
    next_.store(warmup_);
    begin_measuring();
    start_phase(timed_ ? std::numeric_limits<std::uint64_t>::max() : o_.calls);
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
    r.latency_store_kib = latency_ns_.kib();
    // Measured calls have numbers from warmup_ on; a number fetched but never issued (the
    // end of a phase, a stop) has no sample.
    if (measuring_.load()) {
        const auto end = std::min(next_.load(), latency_ns_.capacity());
        r.latencies_ns.reserve(end > warmup_ ? end - warmup_ : 0);
        for (auto i = warmup_; i < end; ++i)
            if (auto v = latency_ns_.get(i); v >= 0)
                r.latencies_ns.push_back(v);
    }
    return r;
}

} // namespace mailroom::load
