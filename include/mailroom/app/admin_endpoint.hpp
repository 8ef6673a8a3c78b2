#pragma once

#include <mailroom/detail/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace mailroom {

/// Options of the admin HTTP endpoint (docs/operations.md, "The admin endpoint").
struct admin_options {
    /** The port to listen on. Unset: servers.json's `admin_port` of this server, and without
        one the endpoint is off. 0: any free port (read it back with
        `basic_app::admin_port()`). Default: unset.
    */
    std::optional<std::uint16_t> port{};
    /** The address to bind. Anyone who can reach it can read every metric and the recent
        errors: keep it on loopback unless a firewall or a reverse proxy guards it.
        servers.json's `admin_host` of this server overrides it. Default: "127.0.0.1".
    */
    std::string address = "127.0.0.1";
    /// Connections served at once; one more is closed at once. Default: 16.
    std::size_t max_connections = 16;
    /// Time a connection has to send each request and read its answer; later it is closed.
    /// Default: 5 s.
    std::chrono::milliseconds timeout{5'000};
    /// Largest request head (request line and headers), in bytes; larger is answered 400.
    /// Default: 8 KiB.
    std::size_t max_header_bytes = 8u << 10;
    /// Largest request body, in bytes; larger is answered 400. Default: 1 KiB.
    std::size_t max_body_bytes = 1u << 10;
};

/** A small HTTP/1.1 server (Boost.Beast) that answers GET and HEAD with what a route
    function returns for the request's path (the query string removed): 404 when it returns
    nothing, 405 for any other method, 400 for a request that does not parse or passes a
    limit of @ref admin_options. Connections, request size and time are bounded, so a client
    that sends garbage, huge headers or one byte a minute costs a bounded amount and never
    stops the process.

    @par Thread safety
    `listen`, `stop`, `port` and `connections` may be called from any thread. The route
    function runs on the executor's threads, possibly concurrently.

    @par Example
    @code
    mailroom::admin_endpoint admin(ioc.get_executor(), {.port = 0}, [](std::string_view path)
        -> std::optional<mailroom::admin_endpoint::page> {
        if (path == "/ping") return mailroom::admin_endpoint::page{200, "text/plain", "pong"};
        return std::nullopt; });
    if (auto ec = admin.listen()) throw std::system_error(ec);
    @endcode
*/
class admin_endpoint {
public:
    /// An answer: status code, content type and body.
    struct page {
        unsigned status = 200;
        std::string content_type = "text/plain; charset=utf-8";
        std::string body{};
    };
    using route_function = std::function<std::optional<page>(std::string_view path)>;

    admin_endpoint(asio::any_io_executor ex, admin_options options, route_function route);

    /// Stops (see @ref stop).
    ~admin_endpoint();

    admin_endpoint(const admin_endpoint&) = delete;
    admin_endpoint& operator=(const admin_endpoint&) = delete;

    /// Binds `address:port` and starts accepting. Returns the error if it cannot.
    [[nodiscard]] std::error_code listen();

    /// The port bound (0 before `listen` or after a failed one).
    std::uint16_t port() const noexcept;

    /// Connections open now.
    std::size_t connections() const noexcept;

    /// Stops accepting and closes every connection. Idempotent.
    void stop();

private:
    struct state;
    std::shared_ptr<state> state_;
};

} // namespace mailroom
