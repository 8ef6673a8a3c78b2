#include "registry_sim.hpp"

#include <mailroom/redis/registry.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "../load/proc_stats.hpp"
#include "redis/redis_server.hpp"
#include "sim_common.hpp"
#include "sim_report.hpp"

namespace mailroom::cluster_sim {

namespace {

namespace asio = boost::asio;
using sim_clock = std::chrono::steady_clock;
using table = std::vector<server_info>;

/// An io_context run by one thread of its own.
class loop {
public:
    loop() : guard_(asio::make_work_guard(ioc_))
    {
        thread_ = std::thread([this] {
            ioc_.run();
            done_.set_value();
        });
    }
    ~loop() { finish(std::chrono::seconds(0)); }

    asio::io_context& ioc() noexcept { return ioc_; }

    /// Stops the loop dead: what a killed process does to its registry (no renewal, no
    /// leave). The handlers stay queued, and the sockets open, until bury() or the loop's end.
    void kill()
    {
        ioc_.stop();
        join();
    }

    /** After kill(): the process is gone, but this one must free what it held. Runs the
        loop again, on this thread, until what was queued and what was started since (a
        registry's stop) ran out of work, for at most `grace`.
    */
    void bury(std::chrono::milliseconds grace)
    {
        ioc_.restart();
        guard_.reset();
        ioc_.run_for(grace);
    }

    /// Lets the loop run out of work (a registry's leave is sent and its links closed), for
    /// at most `grace`; then stops it.
    void finish(std::chrono::milliseconds grace)
    {
        guard_.reset();
        if (thread_.joinable() && done_future_.wait_for(grace) != std::future_status::ready)
            ioc_.stop();
        join();
    }

private:
    void join()
    {
        if (thread_.joinable())
            thread_.join();
    }

    asio::io_context ioc_{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::promise<void> done_;
    std::future<void> done_future_ = done_.get_future();
    std::thread thread_;
};

/** Records, for the change being watched, when each peer's listener first got a table that
    shows it (steady clock, one process, so the times compare).
*/
class tracker {
public:
    using predicate = std::function<bool(const table&)>;

    explicit tracker(std::size_t capacity)
        : seen_ms_(capacity, -1), counted_(capacity, 0), last_size_(capacity, 0)
    {
    }

    /// Every member's listener, on its registry's strand.
    void on_table(std::size_t i, const table& t)
    {
        std::lock_guard lock(mu_);
        ++tables_;
        last_size_[i] = t.size();
        bool wake = false;
        if (pred_ && counted_[i] && seen_ms_[i] < 0 && pred_(t)) {
            seen_ms_[i] = std::chrono::duration<double, std::milli>(sim_clock::now() - t0_).count();
            if (--remaining_ == 0)
                wake = true;
        }
        if (wake)
            cv_.notify_all();
    }

    /** Starts watching for `pred` on `peers`' tables; times count from now. A peer whose
        latest table already has `already_size` members (when given) counts as seen at 0.
    */
    void watch(predicate pred, const std::vector<std::size_t>& peers,
               std::optional<std::size_t> already_size = std::nullopt)
    {
        std::lock_guard lock(mu_);
        std::fill(seen_ms_.begin(), seen_ms_.end(), -1.0);
        std::fill(counted_.begin(), counted_.end(), 0);
        remaining_ = 0;
        for (auto p : peers) {
            counted_[p] = 1;
            if (already_size && last_size_[p] == *already_size)
                seen_ms_[p] = 0;
            else
                ++remaining_;
        }
        pred_ = std::move(pred);
        t0_ = sim_clock::now();
    }

    struct outcome {
        std::vector<double> ms; ///< one per peer that saw it, sorted
        std::size_t missing = 0;
    };

    /// Waits until every watched peer saw the change, for at most `limit`.
    outcome wait(std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, limit, [&] { return remaining_ == 0; });
        outcome o;
        for (std::size_t i = 0; i < seen_ms_.size(); ++i)
            if (counted_[i] && seen_ms_[i] >= 0)
                o.ms.push_back(seen_ms_[i]);
        std::sort(o.ms.begin(), o.ms.end());
        o.missing = remaining_;
        pred_ = nullptr;
        return o;
    }

    std::uint64_t tables() const
    {
        std::lock_guard lock(mu_);
        return tables_;
    }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    predicate pred_;
    sim_clock::time_point t0_{};
    std::vector<double> seen_ms_;
    std::vector<char> counted_;
    std::size_t remaining_ = 0;
    std::vector<std::size_t> last_size_;
    std::uint64_t tables_ = 0;
};

struct member {
    server_info info;
    std::shared_ptr<mailroom::registry> reg;
    bool live = false; ///< in the cluster: counted as a peer
};

bool has(const table& t, const std::string& id)
{
    return std::any_of(t.begin(), t.end(), [&](const server_info& s) { return s.id == id; });
}

double median(const std::vector<double>& sorted)
{
    if (sorted.empty())
        return -1;
    const auto n = sorted.size();
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

double max_of(const std::vector<double>& sorted) { return sorted.empty() ? -1 : sorted.back(); }

double median_of(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return median(v);
}

double sim_cpu_s() { return load::process_cpu().total_us() / 1e6; }

} // namespace

int run_registry_sim(const sim_options& o)
{
    if (!on_path("redis-server")) {
        fmt::print(stderr, "mailroom-cluster-sim: redis-server is not installed; skipped\n");
        return 77;
    }
    const std::size_t n = o.members;
    const std::size_t capacity = n + o.rounds;
    // Two links per member (commands, subscription), on both ends: redis-server inherits
    // the raised limit.
    const std::size_t fds_needed = 2 * capacity + 256;
    const std::size_t nofile = load::raise_nofile(fds_needed);
    if (nofile < fds_needed) {
        fmt::print(stderr, "mailroom-cluster-sim: RLIMIT_NOFILE is {}, {} members need {}\n",
                   nofile, capacity, fds_needed);
        return 1;
    }
    test::redis_server redis({"--maxclients", std::to_string(2 * capacity + 64)});
    const auto run_started = sim_clock::now();
    const auto limit = std::chrono::milliseconds(static_cast<long>(o.phase_limit_s * 1000));

    std::atomic<std::uint64_t> warnings{0};
    redis::registry_options ro{.url = redis.url(),
                               .cluster = "sim",
                               .lease_ttl = o.lease_ttl,
                               .resync_period = o.resync_period};
    ro.log.sink = [&warnings](log_level, std::string_view line) {
        // The first few, then only counted: a thousand members losing Redis at once would
        // bury the report.
        if (warnings.fetch_add(1) < 5)
            fmt::print(stderr, "registry: {}\n", line);
    };

    std::vector<std::unique_ptr<loop>> loops;
    for (unsigned t = 0; t < std::max(1u, o.threads); ++t)
        loops.push_back(std::make_unique<loop>());
    std::vector<std::unique_ptr<loop>> solo; // one per joiner, so that it can be killed alone
    std::vector<std::shared_ptr<mailroom::registry>> killed; // their registries
    tracker track(capacity);
    std::vector<member> members(capacity);
    for (std::size_t i = 0; i < capacity; ++i)
        members[i].info = make_info(i);
    auto start_member = [&](std::size_t i, asio::io_context& ioc) {
        members[i].reg = redis::make_registry(ro);
        members[i].live = true;
        members[i].reg->start(ioc.get_executor(), members[i].info,
                              [&track, i](table t) { track.on_table(i, t); });
    };
    auto live_peers = [&](std::size_t except) {
        std::vector<std::size_t> p;
        for (std::size_t i = 0; i < capacity; ++i)
            if (members[i].live && i != except)
                p.push_back(i);
        return p;
    };

    sim_report rep(fmt::format("mailroom-cluster-sim: {} registry members, lease {} ms, resync {} ms",
                               n, o.lease_ttl.count(), o.resync_period.count()));
    rep.add("members", static_cast<double>(n));
    rep.add("threads", static_cast<double>(loops.size()));
    rep.add("lease_ttl_ms", static_cast<double>(o.lease_ttl.count()));
    rep.add("resync_period_ms", static_cast<double>(o.resync_period.count()));
    std::size_t missed = 0;
    bool failed = false;

    // Cold start, in waves of `start_batch` (a real cluster starts in waves): each wave
    // joins, then every member started so far must have the whole table before the next.
    {
        const std::size_t batch = o.start_batch == 0 ? n : o.start_batch;
        const auto t0 = sim_clock::now();
        double last_wave_ms = 0;
        std::size_t not_full = 0;
        for (std::size_t i = 0; i < n && not_full == 0; i += batch) {
            const auto end = std::min(n, i + batch);
            std::vector<std::size_t> started(end);
            for (std::size_t k = 0; k < end; ++k)
                started[k] = k;
            track.watch([end](const table& t) { return t.size() == end; }, started, end);
            for (std::size_t k = i; k < end; ++k)
                start_member(k, loops[k % loops.size()]->ioc());
            auto wave = track.wait(limit);
            last_wave_ms = max_of(wave.ms);
            not_full = wave.missing;
            if (not_full > 0)
                fmt::print(stderr, "mailroom-cluster-sim: the wave of members {}..{}: {} of {} "
                                   "tables not full within {} s\n",
                           i, end - 1, not_full, end, o.phase_limit_s);
        }
        rep.add("start_batch", static_cast<double>(batch));
        rep.add("cold_start_ms_all_tables_full",
                std::chrono::duration<double, std::milli>(sim_clock::now() - t0).count(), 1);
        rep.add("cold_start_last_wave_ms", last_wave_ms, 1);
        rep.add("cold_start_members_not_full", static_cast<double>(not_full));
        missed += not_full;
        failed = not_full > 0;
    }

    // Steady state: nothing changes; renewals and periodic lists only.
    {
        const auto settle = std::clamp(2 * std::max(o.resync_period, o.lease_ttl / 3),
                                       std::chrono::milliseconds(500), std::chrono::milliseconds(10000));
        std::this_thread::sleep_for(settle); // a measurement window, not a synchronisation
        const auto tables0 = track.tables();
        const auto a = read_redis(redis);
        const double c0 = sim_cpu_s();
        std::this_thread::sleep_for(std::chrono::duration<double>(o.window_s));
        const auto b = read_redis(redis);
        const double c1 = sim_cpu_s();
        const auto r = rates_between(a, b);
        rep.add("steady_window_s", r.seconds, 2);
        rep.add("steady_redis_commands_per_s", r.commands_per_s);
        rep.add("steady_redis_eval_per_s", r.eval_per_s);
        rep.add("steady_redis_eval_usec_per_call", r.eval_usec_per_call, 1);
        rep.add("steady_redis_hget_per_s", r.hget_per_s);
        rep.add("steady_redis_in_kib_per_s", r.input_bytes_per_s / 1024, 1);
        rep.add("steady_redis_out_kib_per_s", r.output_bytes_per_s / 1024, 1);
        rep.add("steady_redis_cpu_pct", r.cpu_fraction * 100, 1);
        rep.add("steady_sim_cpu_pct", (c1 - c0) / r.seconds * 100, 1);
        rep.add("steady_tables_delivered", static_cast<double>(track.tables() - tables0));
        rep.add("redis_connected_clients", b.number("connected_clients"));
        rep.add("redis_used_memory_kib", b.number("used_memory") / 1024);
        // CONFIG RESETSTAT clears the counters read above: this comes after the window.
        const auto list = probe_list(redis, 20);
        rep.add("list_usec_per_call", list.usec_per_call, 1);
        rep.add("list_reply_kib", list.reply_bytes / 1024, 1);
        const auto entry = redis.command({"HSTRLEN", sim_keys().entries, members[0].info.id});
        rep.add("entry_bytes_member0", std::stod(entry));
        rep.add_text("redis_version", b.info.count("redis_version") ? b.info.at("redis_version") : "?");
    }

    // Changes: a join, a clean leave, a kill, `rounds` times.
    std::vector<double> join_med, join_max, leave_med, leave_max, kill_med, kill_max;
    std::vector<double> join_redis_cpu_ms, join_redis_out_kib;
    for (unsigned r = 0; r < o.rounds && !failed; ++r) {
        const std::size_t joiner = n + r;
        const std::size_t leaver = r;
        auto phase = [&](const char* what, std::size_t subject, bool present,
                         const std::function<void()>& act, std::vector<double>& med,
                         std::vector<double>& mx) {
            const auto id = members[subject].info.id;
            track.watch([id, present](const table& t) { return has(t, id) == present; },
                        live_peers(subject));
            act();
            auto out = track.wait(limit);
            med.push_back(median(out.ms));
            mx.push_back(max_of(out.ms));
            if (out.missing > 0)
                fmt::print(stderr, "mailroom-cluster-sim: round {}: {} of {} not seen by {} peers "
                                   "within {} s\n", r, what, id, out.missing, o.phase_limit_s);
            missed += out.missing;
        };
        solo.push_back(std::make_unique<loop>());
        auto& home = solo.back()->ioc();
        const auto before = read_redis(redis);
        phase("the join", joiner, true, [&] { start_member(joiner, home); }, join_med, join_max);
        const auto after = read_redis(redis);
        join_redis_cpu_ms.push_back((after.cpu_s - before.cpu_s) * 1000);
        join_redis_out_kib.push_back(
            (after.number("total_net_output_bytes") - before.number("total_net_output_bytes")) / 1024);
        phase("the clean leave", leaver, false, [&] {
            members[leaver].live = false;
            members[leaver].reg->stop();
        }, leave_med, leave_max);
        phase("the kill", joiner, false, [&] {
            members[joiner].live = false;
            killed.push_back(members[joiner].reg);
            solo.back()->kill();
        }, kill_med, kill_max);
    }
    if (!join_med.empty()) {
        rep.add("rounds", static_cast<double>(join_med.size()));
        rep.add("join_ms_median_peer", median_of(join_med), 1);
        rep.add("join_ms_last_peer", median_of(join_max), 1);
        rep.add("join_ms_last_peer_worst_round", *std::max_element(join_max.begin(), join_max.end()), 1);
        rep.add("leave_ms_median_peer", median_of(leave_med), 1);
        rep.add("leave_ms_last_peer", median_of(leave_max), 1);
        rep.add("leave_ms_last_peer_worst_round", *std::max_element(leave_max.begin(), leave_max.end()), 1);
        rep.add("kill_ms_median_peer", median_of(kill_med), 1);
        rep.add("kill_ms_last_peer", median_of(kill_max), 1);
        rep.add("kill_ms_last_peer_worst_round", *std::max_element(kill_max.begin(), kill_max.end()), 1);
        rep.add("join_redis_cpu_ms", median_of(join_redis_cpu_ms), 1);
        rep.add("join_redis_out_kib", median_of(join_redis_out_kib), 1);
    }
    rep.add("peer_changes_missed", static_cast<double>(missed));
    rep.add("registry_warnings", static_cast<double>(warnings.load()));
    rep.add("sim_rss_kib", static_cast<double>(load::current_rss_kib()));
    rep.add("run_s", std::chrono::duration<double>(sim_clock::now() - run_started).count(), 1);

    // Clean leaves, then the loops run out of work.
    for (auto& m : members)
        if (m.live && m.reg)
            m.reg->stop();
    for (auto& l : loops)
        l->finish(std::chrono::seconds(5));
    for (auto& m : members)
        m.reg.reset();
    for (auto& r : killed)
        r->stop(); // runs when its loop is buried: the links close, and the registry is freed
    killed.clear();
    for (auto& l : solo)
        l->bury(std::chrono::seconds(5));
    solo.clear();
    loops.clear();
    rep.print(o.json);
    if (failed || (o.check && missed > 0))
        return 1;
    return 0;
}

} // namespace mailroom::cluster_sim
