// mailroom bench: a closed loop of calls against a live cluster, a fixed number in flight.

#include "cluster_client.hpp"
#include "commands.hpp"
#include "convert.hpp"
#include "error_name.hpp"
#include "exit_code.hpp"
#include "method_lookup.hpp"

#include <latency_summary.hpp>

#include <mailroom/client/reply.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <map>

namespace mailroom::cli {
namespace {

using clock_type = std::chrono::steady_clock;

/// The loop. Every member is touched on the client's one I/O thread only.
class bench_loop {
public:
    bench_loop(cluster_client& c, const method_target& m, converted_args args,
               std::optional<std::string> route, std::optional<std::string> to, unsigned inflight,
               std::chrono::milliseconds duration)
        : c_(c), path_(m.path()), args_(std::move(args)), route_(std::move(route)),
          to_(std::move(to)), inflight_(inflight), duration_(duration), timer_(c.context())
    {
        // Holds p999 over a few million calls without reallocating often.
        latencies_.reserve(1 << 20);
    }

    /// Runs the loop to its end; returns when the last call completed.
    void run()
    {
        boost::asio::post(c_.context(), [this] {
            start_ = clock_type::now();
            deadline_ = start_ + duration_;
            next_tick_ = start_;
            tick();
            for (unsigned i = 0; i < inflight_; ++i)
                issue();
        });
        done_.get_future().get();
        // The timer's last handler has run too: nothing refers to the loop any more.
        ticks_done_.get_future().get();
    }

    std::vector<std::int64_t>& latencies() noexcept { return latencies_; }
    const std::map<std::string, std::uint64_t>& errors() const noexcept { return errors_; }
    std::uint64_t failed() const noexcept { return failed_; }
    std::chrono::nanoseconds elapsed() const noexcept { return end_ - start_; }

private:
    void issue()
    {
        ++outstanding_;
        const auto t0 = clock_type::now();
        auto cb = [this, t0](std::error_code ec, const reply&) { complete(ec, t0); };
        const call_options options{.timeout = c_.options().timeout};
        if (to_)
            c_.rpc().async_call_to<reply>(*to_, path_, args_, options, cb);
        else
            c_.rpc().async_call<reply>(path_, route_ ? route_param(*route_) : route_param(),
                                       args_, options, cb);
    }

    void complete(std::error_code ec, clock_type::time_point t0)
    {
        const auto now = clock_type::now();
        --outstanding_;
        if (ec) {
            ++failed_;
            ++second_failed_;
            ++errors_[error_name(ec)];
        } else {
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0).count();
            latencies_.push_back(ns);
            second_.push_back(ns);
        }
        if (now < deadline_)
            return issue();
        if (outstanding_ == 0) {
            end_ = now;
            timer_.cancel();
            done_.set_value();
        }
    }

    // One progress line per second on stderr: that second's calls, median and errors.
    void tick()
    {
        if (next_tick_ != start_)
            progress(next_tick_, std::chrono::seconds(1));
        next_tick_ += std::chrono::seconds(1);
        if (next_tick_ > deadline_)
            return ticks_done_.set_value();
        timer_.expires_at(next_tick_);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) {
                // Cancelled: the last call completed; the part of a second since the last line.
                const auto last = next_tick_ - std::chrono::seconds(1);
                if (!second_.empty() || second_failed_ != 0)
                    progress(end_, end_ - last);
                return ticks_done_.set_value();
            }
            tick();
        });
    }

    void progress(clock_type::time_point at, clock_type::duration span)
    {
        auto lat = std::move(second_);
        second_.clear();
        const auto s = tools::summarise(lat, span);
        const double failed_per_sec =
            static_cast<double>(second_failed_) / std::chrono::duration<double>(span).count();
        std::fprintf(stderr, "%5.1fs  %9.0f calls/s  p50 %8.1f us  p99 %8.1f us  errors %llu\n",
                     std::chrono::duration<double>(at - start_).count(),
                     s.calls_per_sec + failed_per_sec, s.p50_us, s.p99_us,
                     static_cast<unsigned long long>(second_failed_));
        second_failed_ = 0;
    }

    cluster_client& c_;
    protocol::method_path path_;
    converted_args args_;
    std::optional<std::string> route_, to_;
    unsigned inflight_;
    std::chrono::milliseconds duration_;
    boost::asio::steady_timer timer_;
    clock_type::time_point start_, deadline_, next_tick_, end_;
    unsigned outstanding_ = 0;
    std::vector<std::int64_t> latencies_, second_;
    std::uint64_t failed_ = 0, second_failed_ = 0;
    std::map<std::string, std::uint64_t> errors_;
    std::promise<void> done_, ticks_done_;
};

} // namespace

int run_bench(const std::vector<std::string>& args)
{
    auto cl = parse_command_line(
        args, {"env", "cluster", "timeout", "route", "to", "inflight", "duration"},
        {"verbose", "json"});
    auto target = target_options::from(cl);
    if (cl.positional.size() != 2)
        throw usage_error("bench: expected <target> <method> '<json args array>'");
    const auto inflight =
        static_cast<unsigned>(parse_count("inflight", cl.get("inflight").value_or("10"), 100'000));
    const auto duration = parse_duration("duration", cl.get("duration").value_or("10s"));
    const auto to = cl.get("to");
    const auto route = cl.get("route");
    if (to && route)
        throw usage_error("bench: --to and --route exclude each other");
    cluster_client c(target);

    method_target m;
    std::string error;
    if (auto code = lookup_method(c, cl.positional[0], to, m, error); code != exit_code::ok) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return code;
    }
    if (m.sig && m.sig->notify)
        throw usage_error("bench: " + cl.positional[0] + " is a notify (no reply to time)");
    converted_args converted;
    if (auto code = prepare_args(m, cl.positional[1], converted, error); code != exit_code::ok) {
        std::fprintf(stderr, "error: %s (nothing was sent)\n", error.c_str());
        return code;
    }

    std::fprintf(stderr, "bench %s, %u in flight for %.1f s\n", cl.positional[0].c_str(), inflight,
                 std::chrono::duration<double>(duration).count());
    bench_loop loop(c, m, std::move(converted), route, to, inflight, duration);
    loop.run();
    const auto ok_calls = loop.latencies().size();
    const auto s = tools::summarise(loop.latencies(), loop.elapsed());
    const double all_per_sec =
        s.seconds > 0 ? static_cast<double>(ok_calls + loop.failed()) / s.seconds : 0;

    if (cl.has("json")) {
        nlohmann::json errors = nlohmann::json::object();
        for (const auto& [name, n] : loop.errors())
            errors[name] = n;
        nlohmann::json out = {{"method", cl.positional[0]},
                              {"inflight", inflight},
                              {"seconds", s.seconds},
                              {"calls", ok_calls + loop.failed()},
                              {"ok", ok_calls},
                              {"errors", loop.failed()},
                              {"calls_per_sec", all_per_sec},
                              {"p50_us", s.p50_us},
                              {"p99_us", s.p99_us},
                              {"p999_us", s.p999_us},
                              {"max_us", s.max_us},
                              {"errors_by_code", errors}};
        std::printf("%s\n", out.dump().c_str());
    } else {
        std::printf("%llu calls in %.2f s: %.0f calls/s, %llu ok, %llu failed\n",
                    static_cast<unsigned long long>(ok_calls + loop.failed()), s.seconds,
                    all_per_sec, static_cast<unsigned long long>(ok_calls),
                    static_cast<unsigned long long>(loop.failed()));
        std::printf("latency (ok calls): p50 %.1f us, p99 %.1f us, p999 %.1f us, max %.1f us\n",
                    s.p50_us, s.p99_us, s.p999_us, s.max_us);
        for (const auto& [name, n] : loop.errors())
            std::printf("errors: %s %llu\n", name.c_str(), static_cast<unsigned long long>(n));
    }
    return loop.failed() == 0 ? exit_code::ok : exit_code::call_failed;
}

} // namespace mailroom::cli
