#pragma once

#include <mailroom/metrics/snapshot.hpp>
#include <mailroom/remote.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mailroom {

/// One method a server offers, as `sys.introspect.methods` lists it.
struct method_description {
    std::string ns{};
    std::string service{};
    std::string method{};
    /// The declared signature ("int(int a, int b)"); empty for methods bound without a
    /// declaration.
    std::string signature{};
    MSGPACK_DEFINE_MAP(ns, service, method, signature)
};

/// What `sys.health.ping` answers.
struct health_status {
    std::string server_id{};
    std::string server_type{};
    std::uint64_t uptime_ms = 0;
    MSGPACK_DEFINE_MAP(server_id, server_type, uptime_ms)
};

/// Built-in remotes of every App, bound in the "sys" namespace.
namespace sys {

/// `sys.introspect.methods()`: every method the server offers, with its declared signature.
MAILROOM_REMOTE(introspect_remote, introspect,
                (methods, std::vector<mailroom::method_description>()));

/// `sys.health.ping()`: the server's id, type and uptime.
MAILROOM_REMOTE(health_remote, health, (ping, mailroom::health_status()));

/** `sys.metrics.snapshot()`: the server's metrics (docs/operations.md, "Metrics"): calls,
    errors by code, in-flight and latency per method on both ends, the cluster as its mail
    boxes see it, filter refusals and the most recent errors. Counts are cumulative: rates
    come from two snapshots. An App made without metrics answers `enabled = false`.
*/
MAILROOM_REMOTE(metrics_remote, metrics, (snapshot, mailroom::metrics::metrics_snapshot()));

} // namespace sys

/** Typed stubs for the built-in remotes of one server, sent to it without routing:

    @code
    app.rpc.sys("chat-server-1").health.ping(
        [](std::error_code ec, mailroom::health_status h) { ... });
    auto [ec, methods] = co_await app.rpc.sys("chat-server-1").introspect.methods(
        asio::use_awaitable);
    @endcode

    Completion tokens, executors and errors are those of every stub call.
*/
struct sys_stubs {
    /// `sys.health.ping()`: the server's id, type and uptime.
    sys::health_remote::basic_stub<false> health;
    /// `sys.introspect.methods()`: every method it serves, with its declared signature.
    sys::introspect_remote::basic_stub<false> introspect;
    /// `sys.metrics.snapshot()`: the server's metrics (@ref metrics::metrics_snapshot).
    sys::metrics_remote::basic_stub<false> metrics;

    /// `context` names the proxy and the target server; its namespace is set to "sys".
    explicit sys_stubs(const std::shared_ptr<const stub_context>& context)
        : health(in_sys(context)->for_service(sys::health_remote::name)),
          introspect(in_sys(context)->for_service(sys::introspect_remote::name)),
          metrics(in_sys(context)->for_service(sys::metrics_remote::name))
    {
    }

private:
    static std::shared_ptr<const stub_context> in_sys(const std::shared_ptr<const stub_context>& c)
    {
        auto s = std::make_shared<stub_context>(*c);
        s->ns = "sys";
        return s;
    }
};

} // namespace mailroom
