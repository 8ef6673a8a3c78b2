#include <mailroom/error.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace mailroom {
namespace {

/// Equality of two names, inline for the short ones a call path holds (no call to memcmp
/// for each of the three names a cached lookup compares).
bool same_name(std::string_view a, std::string_view b) noexcept
{
    const std::size_t n = a.size();
    if (n != b.size())
        return false;
    const char* p = a.data();
    const char* q = b.data();
    const auto load = [](const char* at, auto word) {
        std::memcpy(&word, at, sizeof word);
        return word;
    };
    if (n >= 8 && n <= 16) // two overlapping words
        return load(p, std::uint64_t{}) == load(q, std::uint64_t{}) &&
               load(p + n - 8, std::uint64_t{}) == load(q + n - 8, std::uint64_t{});
    if (n >= 4 && n < 8)
        return load(p, std::uint32_t{}) == load(q, std::uint32_t{}) &&
               load(p + n - 4, std::uint32_t{}) == load(q + n - 4, std::uint32_t{});
    if (n < 4) {
        for (std::size_t i = 0; i < n; ++i)
            if (p[i] != q[i])
                return false;
        return true;
    }
    return std::memcmp(p, q, n) == 0;
}

} // namespace

std::string dispatcher::service_key(std::string_view ns, std::string_view service)
{
    std::string key;
    key.reserve(ns.size() + 1 + service.size());
    key.append(ns).push_back('\0');
    key.append(service);
    return key;
}

void dispatcher::add_raw(std::string_view ns, std::string_view service, std::string_view method,
                         raw_handler h)
{
    auto shared = std::make_shared<const raw_handler>(std::move(h));
    std::unique_lock lock(mu_);
    services_[service_key(ns, service)][std::string(method)] = std::move(shared);
    version_.fetch_add(1, std::memory_order_release);
}

const raw_handler* dispatcher::lookup(const protocol::method_path& path, lookup_cache& cache,
                                      std::error_code& ec) const
{
    const auto version = version_.load(std::memory_order_acquire);
    for (auto& e : cache.entries_)
        if (e.version == version && same_name(e.method, path.method) &&
            same_name(e.service, path.service) && same_name(e.ns, path.ns)) {
            ec = {};
            return e.handler.get();
        }
    auto h = lookup(path, ec);
    if (!h)
        return nullptr;
    // The version read before the lookup: a change made meanwhile invalidates the entry.
    auto& e = cache.entries_[cache.next_++ % lookup_cache::capacity];
    e.ns = path.ns;
    e.service = path.service;
    e.method = path.method;
    e.handler = std::move(h);
    e.version = version;
    return e.handler.get();
}

std::error_code dispatcher::find(const protocol::method_path& path, raw_handler& out) const
{
    std::error_code ec;
    if (auto h = lookup(path, ec))
        out = *h;
    return ec;
}

std::shared_ptr<const raw_handler> dispatcher::lookup(const protocol::method_path& path,
                                                      std::error_code& ec) const
{
    // A stack buffer for the key keeps the lookup free of allocation for usual names.
    char buf[128];
    std::string heap;
    std::string_view key;
    const std::size_t n = path.ns.size() + 1 + path.service.size();
    if (n <= sizeof buf) {
        std::copy(path.ns.begin(), path.ns.end(), buf);
        buf[path.ns.size()] = '\0';
        std::copy(path.service.begin(), path.service.end(), buf + path.ns.size() + 1);
        key = {buf, n};
    } else {
        heap = service_key(path.ns, path.service);
        key = heap;
    }
    ec = {};
    std::shared_lock lock(mu_);
    auto s = services_.find(key);
    if (s == services_.end()) {
        ec = error::unknown_service;
        return nullptr;
    }
    auto m = s->second.find(path.method);
    if (m == s->second.end()) {
        ec = error::unknown_method;
        return nullptr;
    }
    return m->second;
}

void dispatcher::dispatch(const call_context& ctx, const value_view& args, responder r,
                          std::chrono::steady_clock::time_point now, lookup_cache* cache) const
{
    // The caller has given up already: do not start work nobody waits for, and say the
    // handler never ran (unlike the caller's own `timeout`).
    if (now >= ctx.deadline)
        return r.fail(error::deadline_exceeded);
    std::error_code ec;
    std::shared_ptr<const raw_handler> held; // without a cache, keeps the handler alive
    const raw_handler* h = nullptr;
    if (cache) {
        h = lookup(ctx.path, *cache, ec);
    } else {
        held = lookup(ctx.path, ec);
        h = held.get();
    }
    if (!h) {
        std::string what = std::string(ctx.path.ns) + "." + std::string(ctx.path.service);
        if (ec == error::unknown_method)
            what += "." + std::string(ctx.path.method);
        return r.fail(ec, ec.message() + ": " + what);
    }
    try {
        (*h)(ctx, args, std::move(r));
    } catch (...) {
        // A raw handler threw: its responder, destroyed while unwinding, has answered
        // remote_error already. Nothing may escape into the I/O loop.
    }
}

std::vector<std::string> dispatcher::methods() const
{
    std::vector<std::string> out;
    std::shared_lock lock(mu_);
    for (const auto& [key, methods] : services_) {
        std::string prefix = key;
        std::replace(prefix.begin(), prefix.end(), '\0', '.');
        for (const auto& [name, h] : methods)
            out.push_back(prefix + "." + name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace mailroom
