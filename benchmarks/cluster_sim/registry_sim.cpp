#include "registry_sim.hpp"

#include <mailroom/redis/registry.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "../load/proc_stats.hpp"
#include "redis/redis_server.hpp"
#include "redis_probe.hpp"
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
    /// leave). The handlers stay queued, and the sockets open, until the loop is destroyed.
    void kill()
    {
        ioc_.stop();
        join();
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
        : seen_ms_(capacity, -1), counted_(capacity, 0), had_first_(capacity, 0)
    {
    }

    /// Every member's listener, on its registry's strand.
    void on_table(std::size_t i, const table& t)
    {
        std::lock_guard lock(mu_);
        ++tables_;
        bool wake = false;
        if (!had_first_[i]) {
            had_first_[i] = 1;
            ++first_tables_;
            wake = true;
        }
        if (pred_ && counted_[i] && seen_ms_[i] < 0 && pred_(t)) {
            seen_ms_[i] = std::chrono::duration<double, std::milli>(sim_clock::now() - t0_).count();
            if (--remaining_ == 0)
                wake = true;
        }
        if (wake)
            cv_.notify_all();
    }

    /// Starts watching for `pred` on `peers`' tables; times count from now.
    void watch(predicate pred, const std::vector<std::size_t>& peers)
    {
        std::lock_guard lock(mu_);
        std::fill(seen_ms_.begin(), seen_ms_.end(), -1.0);
        std::fill(counted_.begin(), counted_.end(), 0);
        for (auto p : peers)
            counted_[p] = 1;
        remaining_ = peers.size();
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

    /// Waits until `n` members have had their first table, for at most `limit`.
    bool wait_first_tables(std::size_t n, std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, limit, [&] { return first_tables_ >= n; });
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
    std::vector<char> had_first_;
    std::size_t first_tables_ = 0;
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

bool on_path(const std::string& program)
{
    const char* path = std::getenv("PATH");
    if (!path)
        return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::error_code ec;
        const auto p = std::filesystem::path(dir.empty() ? "." : dir) / program;
        if (std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0)
            return true;
    }
    return false;
}

redis_reading read_redis(const test::redis_server& redis)
{
    redis_reading r;
    r.at = sim_clock::now();
    r.cpu_s = process_cpu_seconds(redis.pid());
    std::istringstream in(redis.command({"INFO", "all"}));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        const auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos)
            continue;
        r.info[line.substr(0, colon)] = line.substr(colon + 1);
    }
    return r;
}

double sim_cpu_s() { return load::process_cpu().total_us() / 1e6; }

/// The entry a member registers: what a game server's servers.json line carries.
server_info make_info(std::size_t i)
{
    static const char* const types[] = {"connector", "area", "chat", "gate"};
    server_info s{.id = fmt::format("sim-{:05}", i),
                  .server_type = types[i % 4],
                  .host = "127.0.0.1",
                  .port = static_cast<std::uint16_t>(10000 + i % 50000),
                  .transport = "tcp"};
    if (i % 4 == 0) {
        s.options["frontend"] = "true";
        s.options["clientPort"] = std::to_string(30000 + i % 30000);
    }
    return s;
}

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

    // Cold start, in batches (a real cluster starts in waves; all at once is a batch of n).
    {
        std::vector<std::size_t> all(n);
        for (std::size_t i = 0; i < n; ++i)
            all[i] = i;
        track.watch([n](const table& t) { return t.size() == n; }, all);
        const std::size_t batch = o.start_batch == 0 ? n : o.start_batch;
        for (std::size_t i = 0; i < n; i += batch) {
            const auto end = std::min(n, i + batch);
            for (std::size_t k = i; k < end; ++k)
                start_member(k, loops[k % loops.size()]->ioc());
            if (!track.wait_first_tables(end, limit)) {
                fmt::print(stderr, "mailroom-cluster-sim: members {}..{} got no table within {} s\n",
                           i, end - 1, o.phase_limit_s);
                failed = true;
                break;
            }
        }
        auto cold = track.wait(limit);
        rep.add("cold_start_ms_all_tables_full", max_of(cold.ms), 1);
        rep.add("cold_start_ms_median_member", median(cold.ms), 1);
        rep.add("cold_start_members_not_full", static_cast<double>(cold.missing));
        missed += cold.missing;
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
        const auto entry = redis.command({"HSTRLEN", "mailroom:reg:{sim}:entries", members[0].info.id});
        rep.add_text("entry_bytes_member0", entry);
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
        m.reg.reset(); // before the killed loops, whose queued handlers still hold theirs
    solo.clear();
    loops.clear();
    rep.print(o.json);
    if (failed || (o.check && missed > 0))
        return 1;
    return 0;
}

} // namespace mailroom::cluster_sim
