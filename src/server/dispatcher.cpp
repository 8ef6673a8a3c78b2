#include <mailroom/detail/same_name.hpp>
#include <mailroom/error.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace mailroom {

using detail::same_name;

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

dispatcher::found_method dispatcher::lookup(const protocol::method_path& path,
                                            lookup_cache& cache) const
{
    const auto version = version_.load(std::memory_order_acquire);
    for (auto& e : cache.entries_)
        if (e.version == version && same_name(e.method, path.method) &&
            same_name(e.service, path.service) && same_name(e.ns, path.ns))
            return {e.handler.get(), {}, &e.series};
    found_method m;
    auto h = lookup(path, m.ec);
    if (!h)
        return m;
    // The version read before the lookup: a change made meanwhile invalidates the entry.
    auto& e = cache.entries_[cache.next_++ % lookup_cache::capacity];
    e.version = 0; // never a hit if a copy below throws
    e.series = nullptr;
    e.ns = path.ns;
    e.service = path.service;
    e.method = path.method;
    e.handler = std::move(h);
    e.version = version;
    return {e.handler.get(), {}, &e.series};
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
    if (cache)
        return dispatch(ctx, args, std::move(r), now, lookup(ctx.path, *cache));
    found_method m;
    const auto held = lookup(ctx.path, m.ec); // keeps the handler alive while it runs
    m.handler = held.get();
    dispatch(ctx, args, std::move(r), now, m);
}

void dispatcher::dispatch(const call_context& ctx, const value_view& args, responder r,
                          std::chrono::steady_clock::time_point now, const found_method& m) const
{
    // The caller has given up already: do not start work nobody waits for, and say the
    // handler never ran (unlike the caller's own `timeout`).
    if (now >= ctx.deadline)
        return r.fail(error::deadline_exceeded);
    if (!m.handler) {
        std::string what = std::string(ctx.path.ns) + "." + std::string(ctx.path.service);
        if (m.ec == error::unknown_method)
            what += "." + std::string(ctx.path.method);
        return r.fail(m.ec, m.ec.message() + ": " + what);
    }
    try {
        (*m.handler)(ctx, args, std::move(r));
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
