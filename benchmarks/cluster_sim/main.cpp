// mailroom-cluster-sim: how membership and the full mesh scale past one machine
// (docs/membership.md, "Past one machine").
//
// Registry mode (default): N real Redis registries (mailroom::redis::make_registry) in this
// process, on a few io_contexts, against a redis-server it starts on a free loopback port.
// Reports the cold start, Redis's commands/s, bytes/s and CPU at steady state, this
// process's CPU, and how long a join, a clean leave and a killed member take to reach every
// peer's table (median and last peer).
//
// Table mode (--table N): the Redis side alone, with a synthetic table of N members: what
// one member's re-read and the N re-reads of one change cost Redis.
//
// Links mode (--links K): the memory and descriptors of K idle links, both ends, and the
// full mesh of 100 and 1,000 servers extrapolated from them.
//
// usage: mailroom-cluster-sim [--members N] [--threads T] [--lease-ttl MS] [--resync MS]
//                             [--start-batch B] [--rounds R] [--window SEC] [--limit SEC]
//                             [--check] [--json]
//        mailroom-cluster-sim --table N [--json]
//        mailroom-cluster-sim --links K [--json]

#include <fmt/format.h>

#include <exception>
#include <string>
#include <string_view>

#include "idle_links.hpp"
#include "registry_sim.hpp"
#include "sim_options.hpp"
#include "table_probe.hpp"

namespace {

using mailroom::cluster_sim::sim_options;

constexpr std::string_view usage = R"(usage: mailroom-cluster-sim [options]
  --members N      registry members (default 100)
  --threads T      io_contexts, one thread each, the members share (default 2)
  --lease-ttl MS   lease of each member (default 3000, the registry's default)
  --resync MS      period of the full re-read (default 1000, the registry's default)
  --start-batch B  members started at once during the cold start; 0: all (default 50)
  --rounds R       join / clean leave / kill measurements (default 3)
  --window SEC     steady-state measurement window (default 5)
  --limit SEC      longest wait for a change to reach every peer (default 30)
  --check          exit 1 unless every change reached every peer (the smoke test)
  --table N        probe Redis alone with a synthetic table of N members instead
  --links K        measure K idle tcp links instead (memory and fds per link)
  --json           one JSON object instead of text
Exits 77 when redis-server is not installed (registry and table modes).
)";

bool parse(int argc, char** argv, sim_options& o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument(fmt::format("{} needs a value", a));
            return argv[++i];
        };
        if (a == "--members")
            o.members = std::stoul(value());
        else if (a == "--threads")
            o.threads = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--lease-ttl")
            o.lease_ttl = std::chrono::milliseconds(std::stol(value()));
        else if (a == "--resync")
            o.resync_period = std::chrono::milliseconds(std::stol(value()));
        else if (a == "--start-batch")
            o.start_batch = std::stoul(value());
        else if (a == "--rounds")
            o.rounds = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--window")
            o.window_s = std::stod(value());
        else if (a == "--limit")
            o.phase_limit_s = std::stod(value());
        else if (a == "--table")
            o.table = std::stoul(value());
        else if (a == "--links")
            o.links = std::stoul(value());
        else if (a == "--check")
            o.check = true;
        else if (a == "--json")
            o.json = true;
        else if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return false;
        } else
            throw std::invalid_argument(fmt::format("unknown option {}", a));
    }
    if (o.members < 2 && o.links == 0 && o.table == 0)
        throw std::invalid_argument("--members must be at least 2");
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    sim_options o;
    try {
        if (!parse(argc, argv, o))
            return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "mailroom-cluster-sim: {}\n{}", e.what(), usage);
        return 2;
    }
    try {
        if (o.links > 0)
            return mailroom::cluster_sim::run_idle_links(o);
        if (o.table > 0)
            return mailroom::cluster_sim::run_table_probe(o);
        return mailroom::cluster_sim::run_registry_sim(o);
    } catch (const std::exception& e) {
        fmt::print(stderr, "mailroom-cluster-sim: {}\n", e.what());
        return 1;
    }
}
