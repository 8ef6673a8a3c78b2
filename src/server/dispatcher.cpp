#include <mailroom/error.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <algorithm>
#include <mutex>

namespace mailroom {

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
    std::unique_lock lock(mu_);
    services_[service_key(ns, service)][std::string(method)] = std::move(h);
}

std::error_code dispatcher::find(const protocol::method_path& path, raw_handler& out) const
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
    std::shared_lock lock(mu_);
    auto s = services_.find(key);
    if (s == services_.end())
        return error::unknown_service;
    auto m = s->second.find(path.method);
    if (m == s->second.end())
        return error::unknown_method;
    out = m->second;
    return {};
}

void dispatcher::dispatch(const call_context& ctx, const msgpack::object& args, responder r) const
{
    // The caller has given up already: do not start work nobody waits for, and say the
    // handler never ran (unlike the caller's own `timeout`).
    if (std::chrono::steady_clock::now() >= ctx.deadline)
        return r.fail(error::deadline_exceeded);
    raw_handler h;
    if (auto ec = find(ctx.path, h)) {
        std::string what = std::string(ctx.path.ns) + "." + std::string(ctx.path.service);
        if (ec == error::unknown_method)
            what += "." + std::string(ctx.path.method);
        return r.fail(ec, ec.message() + ": " + what);
    }
    try {
        h(ctx, args, std::move(r));
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
