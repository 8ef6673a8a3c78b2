#pragma once

#include <mailroom/client/proxy.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

#include "options.hpp"
#include "report.hpp"

namespace mailroom::load {

/// The id the echo server announces and the client expects.
inline constexpr std::string_view echo_server_id = "echo-1";

/// `echoRemote.echo` on servers of type "echo".
protocol::method_path echo_path();

/// Binds `echoRemote.echo(std::string) -> std::string`.
void bind_echo(dispatcher& d);

/// The frame limit both ends use: the default 8 MiB, or more if the payload needs it.
std::size_t frame_limit(const load_options& o) noexcept;

/** The client workload: keeps `inflight` echo calls outstanding until `calls` are made.

    Each completion records its latency and issues the next call, from the completion
    handler (the callback form of `proxy::async_call`, so no coroutine frame per call).
    The first @ref warmup_calls run as their own phase; once all of them have completed,
    the clock starts and the remaining calls run as the measured phase. The first failed
    call stops the run: nothing more is issued and the calls in flight complete.

    @par Thread safety
    Completions may run concurrently on several I/O threads; counters are atomics and
    each call writes only its own latency slot.
*/
class echo_load {
public:
    using clock = std::chrono::steady_clock;

    /// `rpc` and `o` must outlive the run. `done` runs once, on an I/O thread, after the
    /// last call completed (or, after a failure, the last call in flight).
    echo_load(proxy& rpc, const load_options& o, std::function<void()> done);

    /// Issues the first calls and returns. Call once.
    void start();

    /// The outcome; call after `done` ran and the I/O threads stopped.
    run_result take_result();

private:
    void start_phase(std::uint64_t end);
    void issue();
    void on_reply(std::uint64_t i, clock::time_point t0, std::error_code ec, const std::string& s);
    void on_phase_done();
    void record_error(std::string why);

    proxy& rpc_;
    const load_options& o_;
    std::function<void()> done_;
    const protocol::method_path path_;
    const std::tuple<std::string> args_;
    const std::uint64_t warmup_;
    // Indexed by call number; sized up front so the hot path never allocates here.
    std::vector<std::int64_t> latency_ns_;
    std::atomic<std::uint64_t> next_{0};      // next call number to issue
    std::atomic<std::uint64_t> phase_end_{0}; // call numbers below it belong to this phase
    std::atomic<std::uint64_t> outstanding_{0}; // calls in flight (+1 while a phase starts)
    std::atomic<std::uint64_t> completed_{0};
    std::atomic<bool> stop_{false};             // set by the first failure
    std::atomic<std::uint64_t> errors_{0};
    std::mutex error_mu_;
    std::string first_error_;
    clock::time_point started_{};
    clock::time_point finished_{};
};

} // namespace mailroom::load
