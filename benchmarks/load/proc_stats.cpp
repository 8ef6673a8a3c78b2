#include "proc_stats.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace mailroom::load {

cpu_times process_cpu() noexcept
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec);
    };
    return {us(ru.ru_utime), us(ru.ru_stime)};
}

long peak_rss_kib() noexcept
{
    // VmHWM is this process's own high-water mark. getrusage's ru_maxrss is kept across
    // exec, so a server child started with posix_spawn (vfork + exec) would report the
    // parent's peak as its own; it is only the fallback.
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long kib = -1;
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1)
                break;
        std::fclose(f);
        if (kib >= 0)
            return kib;
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

long current_rss_kib() noexcept
{
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    long size = 0, resident = 0;
    const int n = std::fscanf(f, "%ld %ld", &size, &resident);
    std::fclose(f);
    if (n != 2)
        return 0;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

std::size_t heap_in_use() noexcept
{
    const struct mallinfo2 mi = ::mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

std::optional<std::string> pin_to(const std::vector<int>& cpus)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) {
        if (c < 0 || c >= CPU_SETSIZE)
            return fmt::format("CPU {} out of range", c);
        CPU_SET(c, &set);
    }
    if (::sched_setaffinity(0, sizeof set, &set) != 0)
        return fmt::format("sched_setaffinity: {}", std::strerror(errno));
    return std::nullopt;
}

std::size_t raise_nofile(std::size_t want) noexcept
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur >= want)
        return rl.rlim_cur;
    rlimit next = rl;
    next.rlim_cur = want;
    if (next.rlim_max < want)
        next.rlim_max = want; // works when privileged
    if (::setrlimit(RLIMIT_NOFILE, &next) != 0) {
        next = rl;
        next.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &next);
    }
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

server_stats own_stats(std::size_t connections, std::size_t held) noexcept
{
    server_stats s;
    const auto cpu = process_cpu();
    s.user_us = cpu.user_us;
    s.sys_us = cpu.sys_us;
    s.maxrss_kib = peak_rss_kib();
    s.rss_kib = current_rss_kib();
    s.heap_bytes = static_cast<double>(heap_in_use());
    s.connections = static_cast<double>(connections);
    s.held = static_cast<double>(held);
    return s;
}

std::string format_stats_line(const server_stats& s)
{
    return fmt::format("stats user_us={:.0f} sys_us={:.0f} maxrss_kib={} rss_kib={} "
                       "heap_bytes={:.0f} connections={:.0f} held={:.0f}",
                       s.user_us, s.sys_us, s.maxrss_kib, s.rss_kib, s.heap_bytes, s.connections,
                       s.held);
}

std::optional<server_stats> parse_stats_line(std::string_view line)
{
    constexpr std::string_view tag = "stats";
    if (line.substr(0, tag.size()) != tag)
        return std::nullopt;
    server_stats s;
    line.remove_prefix(tag.size());
    while (!line.empty()) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos)
            break;
        line.remove_prefix(start);
        const auto end = line.find(' ');
        const auto item = line.substr(0, end);
        line.remove_prefix(end == std::string_view::npos ? line.size() : end);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos)
            return std::nullopt;
        const auto key = item.substr(0, eq);
        const auto text = item.substr(eq + 1);
        double v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || p != text.data() + text.size())
            return std::nullopt;
        if (key == "user_us")
            s.user_us = v;
        else if (key == "sys_us")
            s.sys_us = v;
        else if (key == "maxrss_kib")
            s.maxrss_kib = static_cast<long>(v);
        else if (key == "rss_kib")
            s.rss_kib = static_cast<long>(v);
        else if (key == "heap_bytes")
            s.heap_bytes = v;
        else if (key == "connections")
            s.connections = v;
        else if (key == "held")
            s.held = v;
    }
    return s;
}

} // namespace mailroom::load
