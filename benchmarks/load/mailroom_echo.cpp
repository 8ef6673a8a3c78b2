#include "mailroom_echo.hpp"

#include <mailroom/redis.hpp>
#include <mailroom/remote.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/ws.hpp>

#include <fmt/format.h>
#include <uds_transport.hpp>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

#include <unistd.h>

#include "echo_server.hpp"

namespace mailroom::load {

protocol::method_path echo_path()
{
    return {.server_type = "echo", .service = "echoRemote", .method = "echo"};
}

protocol::method_path hold_path()
{
    return {.server_type = "echo", .service = "echoRemote", .method = "hold"};
}

void bind_echo(dispatcher& d)
{
    d.add("echoRemote", "echo", [](std::string s) { return s; });
}

std::size_t frame_limit(const load_options& o) noexcept
{
    // Room for the envelope (ids, path, metadata) around the payload.
    return std::max<std::size_t>(8u << 20, o.payload + 4096);
}

std::string unix_socket_path(const load_options& o)
{
    if (o.host.find('/') != std::string::npos)
        return o.host;
    // inproc: client and server share the process, hence the path.
    return (std::filesystem::temp_directory_path() /
            ("mailroom-load-" + std::to_string(::getpid()) + ".sock"))
        .string();
}

namespace {

/// The client half of `o.transport` ("tcp", "ws" or "unix").
mailbox_factory client_transport(const load_options& o)
{
    if (o.transport == "ws")
        return ws::make_mailbox_factory();
    if (o.transport == "unix")
        return uds::make_mailbox_factory();
    if (o.transport == "redis")
        return redis::make_mailbox_factory({.default_url = o.redis_url});
    return tcp::make_mailbox_factory();
}

} // namespace

mailroom_client::mailroom_client(boost::asio::io_context& ioc, const load_options& o,
                                 std::uint16_t port, std::size_t stations)
{
    if (o.metrics)
        metrics_ = std::make_unique<metrics::registry>();
    for (std::size_t k = 0; k < stations; ++k) {
        auto station = std::make_unique<mail_station>(
            ioc.get_executor(),
            mail_station_options{
                .client_id = "mailroom-load",
                // Everything in flight may be queued while the first connect completes.
                .max_pending_per_server =
                    std::max<std::size_t>({10'000, o.inflight, o.hold_calls}),
                .max_frame_size = frame_limit(o)});
        station->add_transport(o.transport, client_transport(o),
                               o.transport == "redis" ? redis::protocol() : nullptr);
        server_info echo{.id = std::string(echo_server_id), .server_type = "echo",
                         .host = o.host, .port = port, .transport = o.transport};
        if (o.transport == "unix")
            echo.options["path"] = unix_socket_path(o);
        station->add_server(std::move(echo));
        proxies_.push_back(std::make_unique<proxy>(*station, router_));
        proxies_.back()->set_metrics(metrics_.get());
        stations_.push_back(std::move(station));
    }
}

void mailroom_client::close()
{
    for (auto& s : stations_)
        s->close();
}

namespace {

class mailroom_server final : public echo_server {
public:
    mailroom_server(boost::asio::io_context& ioc, const load_options& o)
        : server_(ioc.get_executor(),
                  {.server_id = std::string(echo_server_id),
                   .max_frame_size = frame_limit(o),
                   .metrics = o.metrics ? std::make_shared<metrics::registry>() : nullptr}),
          held_(std::make_shared<held_calls>())
    {
        bind_echo(server_.get_dispatcher());
        // The raw form keeps only the responder per held call: what a server that answers
        // later must keep at least.
        server_.get_dispatcher().add_raw(
            "user", "echoRemote", "hold",
            [held = held_](const call_context&, const mailroom::value_view&, responder r) {
                std::lock_guard lock(held->mu);
                held->calls.push_back(std::move(r));
            });
        std::shared_ptr<tcp::acceptor> tcp_acceptor;
        std::shared_ptr<ws::acceptor> ws_acceptor;
        std::shared_ptr<const wire_protocol> protocol;
        if (o.transport == "redis") {
            // Node "echo-1" in the run's Redis: requests on mailroom:{echo-1}:q.
            acceptor_ = redis::make_acceptor(ioc.get_executor(),
                                             {.url = o.redis_url,
                                              .node_id = std::string(echo_server_id),
                                              .max_frame_size = frame_limit(o),
                                              .take_depth = o.take_depth});
            protocol = redis::protocol();
        } else if (o.transport == "ws")
            acceptor_ = ws_acceptor = ws::make_acceptor(
                ioc.get_executor(),
                {.host = o.host, .port = o.port, .max_frame_size = frame_limit(o)});
        else if (o.transport == "unix")
            acceptor_ = uds::make_acceptor(ioc.get_executor(), {.path = unix_socket_path(o),
                                                               .max_frame_size = frame_limit(o)});
        else
            acceptor_ = tcp_acceptor = tcp::make_acceptor(
                ioc.get_executor(),
                {.host = o.host, .port = o.port, .max_frame_size = frame_limit(o)});
        if (auto ec = server_.listen(acceptor_, protocol))
            throw std::runtime_error(fmt::format("cannot listen on {} over {}: {}",
                                                 acceptor_->local_address(), o.transport,
                                                 ec.message()));
        port_ = tcp_acceptor ? tcp_acceptor->port() : ws_acceptor ? ws_acceptor->port() : 0;
    }

    ~mailroom_server() override { stop(); }

    std::uint16_t port() const override { return port_; }
    std::size_t connections() const override { return server_.connections(); }

    std::size_t held() const override
    {
        std::lock_guard lock(held_->mu);
        return held_->calls.size();
    }

    void release_held() override
    {
        std::vector<responder> calls;
        {
            std::lock_guard lock(held_->mu);
            calls.swap(held_->calls);
        }
        for (auto& r : calls)
            r.send(std::string());
    }

    void stop() override
    {
        {
            std::lock_guard lock(held_->mu);
            held_->calls.clear(); // answered remote_error; the links close next anyway
        }
        server_.stop();
    }

private:
    struct held_calls {
        mutable std::mutex mu;
        std::vector<responder> calls;
    };

    server server_;
    std::shared_ptr<held_calls> held_;
    std::shared_ptr<acceptor> acceptor_;
    std::uint16_t port_ = 0; // 0 for a Unix socket or Redis
};

// The echo server's remote as callers declare it (bind_echo serves echo_path()).
MAILROOM_REMOTE(echo_remote, echoRemote, (echo, std::string(std::string payload)));

struct echo_rpc : rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"echo", echo_remote> echo{*this};
};

/// Calls as an application does: through a typed stub (one per proxy).
class mailroom_caller final : public caller {
public:
    mailroom_caller(boost::asio::io_context& ioc, const load_options& o, std::uint16_t port,
                    echo_load& load)
        : client_(ioc, o, port, o.connections), load_(load), payload_(load.payload())
    {
        for (std::size_t k = 0; k < client_.size(); ++k)
            stubs_.push_back(std::make_unique<echo_rpc>(client_.rpc(k)));
    }

    void call(std::uint64_t i, load_clock::time_point t0) override
    {
        auto& rpc = *stubs_[stubs_.size() == 1 ? 0 : i % stubs_.size()];
        rpc.echo.echoRemote.echo(route_param{}, payload_,
                                 [load = &load_, i, t0](std::error_code ec, std::string s) {
                                     load->on_reply(i, t0, ec, s);
                                 });
    }

    void close() override { client_.close(); }

private:
    mailroom_client client_;
    echo_load& load_;
    const std::string payload_;
    std::vector<std::unique_ptr<echo_rpc>> stubs_;
};

} // namespace

std::unique_ptr<echo_server> make_mailroom_server(boost::asio::io_context& ioc,
                                                  const load_options& o)
{
    return std::make_unique<mailroom_server>(ioc, o);
}

std::unique_ptr<caller> make_mailroom_caller(boost::asio::io_context& ioc, const load_options& o,
                                             std::uint16_t port, echo_load& load)
{
    return std::make_unique<mailroom_caller>(ioc, o, port, load);
}

std::unique_ptr<echo_server> make_echo_server(boost::asio::io_context& ioc, const load_options& o)
{
    if (o.transport == "raw-redis")
        return make_raw_redis_server(ioc, o);
    if (o.transport == "raw-crawlab")
        return make_raw_crawlab_server(ioc, o);
    return o.transport == "raw" ? make_raw_server(ioc, o) : make_mailroom_server(ioc, o);
}

std::unique_ptr<caller> make_caller(boost::asio::io_context& ioc, const load_options& o,
                                    std::uint16_t port, echo_load& load)
{
    if (o.transport == "raw-redis")
        return make_raw_redis_caller(ioc, o, load);
    if (o.transport == "raw-crawlab")
        return make_raw_crawlab_caller(ioc, o, load);
    return o.transport == "raw" ? make_raw_caller(ioc, o, port, load)
                                : make_mailroom_caller(ioc, o, port, load);
}

} // namespace mailroom::load
