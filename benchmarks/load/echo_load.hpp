#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "options.hpp"
#include "report.hpp"

namespace mailroom::load {

using load_clock = std::chrono::steady_clock;

/** Issues echo calls over one kind of link: mailroom's call path or the raw socket.

    `call` sends call number `i`, issued at `t0`; its completion goes to
    `echo_load::on_reply(i, t0, ...)` on an I/O thread, never inside `call`.
*/
class caller {
public:
    virtual ~caller() = default;
    virtual void call(std::uint64_t i, load_clock::time_point t0) = 0;
    /// Closes the links; called once, after the last call completed.
    virtual void close() = 0;
};

/// Points where the driver hands control to the harness; each runs on an I/O thread with
/// no call in flight.
struct load_hooks {
    /// The warm-up is over; the clock starts when it returns.
    std::function<void()> measure_begin;
    /// The last measured call completed; the clock has stopped.
    std::function<void()> measure_end;
    /// After `measure_end` (or after a failure): close the links, stop the server.
    std::function<void()> done;
};

/** Latencies by call number, in chunks allocated on first use, so a run of unknown length
    (--duration) records every call without a lock. Unset entries read as -1.
*/
class sample_store {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << 16;

    /// Room for `capacity` calls; with `preallocate`, every chunk is allocated now.
    sample_store(std::uint64_t capacity, bool preallocate);
    ~sample_store();
    sample_store(const sample_store&) = delete;
    sample_store& operator=(const sample_store&) = delete;

    void set(std::uint64_t i, std::int64_t ns);
    std::int64_t get(std::uint64_t i) const;
    std::uint64_t capacity() const noexcept { return capacity_; }
    /// Memory held by the chunks, in KiB.
    std::uint64_t kib() const noexcept;

private:
    std::int64_t* chunk(std::size_t k);

    std::uint64_t capacity_;
    std::size_t chunks_n_;
    std::unique_ptr<std::atomic<std::int64_t*>[]> chunks_;
};

/** The client workload: keeps `inflight` echo calls outstanding until `calls` are made (or
    until `duration` has passed).

    Each completion records its latency and issues the next call from the completion handler
    (the callback form of the call, so no coroutine frame per call). The warm-up calls run
    as their own phase; once all of them have completed, `measure_begin` runs, the clock
    starts and the rest run as the measured phase. The first failed call stops the run:
    nothing more is issued and the calls in flight complete.

    @par Thread safety
    Completions may run concurrently on several I/O threads; counters are atomics and
    each call writes only its own latency slot.
*/
class echo_load {
public:
    using clock = load_clock;

    /// `o` must outlive the run.
    echo_load(const load_options& o, load_hooks hooks);

    /// The string every call sends and expects back.
    const std::string& payload() const noexcept { return payload_; }

    /// Issues the first calls through `c` (which must outlive the run) and returns. Once.
    void start(caller& c);

    /// A call's completion: `echo` is what came back (ignored when `ec` is set).
    void on_reply(std::uint64_t i, clock::time_point t0, std::error_code ec, std::string_view echo);

    /// The outcome; call after `done` ran and the I/O threads stopped.
    run_result take_result();

private:
    void begin_measuring();
    void start_phase(std::uint64_t end);
    void issue();
    void on_phase_done();
    void record_error(std::string why);

    const load_options& o_;
    load_hooks hooks_;
    caller* caller_ = nullptr;
    const std::string payload_;
    const std::uint64_t warmup_;
    const bool timed_;
    sample_store latency_ns_;
    std::atomic<std::uint64_t> next_{0};        // next call number to issue
    std::atomic<std::uint64_t> phase_end_{0};   // call numbers below it belong to this phase
    std::atomic<std::uint64_t> outstanding_{0}; // calls in flight (+1 while a phase starts)
    std::atomic<std::uint64_t> completed_{0};
    std::atomic<bool> measuring_{false};
    std::atomic<bool> time_up_{false};          // --duration: stop issuing
    std::atomic<bool> stop_{false};             // set by the first failure
    std::atomic<std::uint64_t> errors_{0};
    std::mutex error_mu_;
    std::string first_error_;
    clock::time_point started_{};
    clock::time_point deadline_{};
    clock::time_point finished_{};
};

/// The echoed string: `size` bytes of a..z.
std::string make_payload(std::uint64_t size);

} // namespace mailroom::load
