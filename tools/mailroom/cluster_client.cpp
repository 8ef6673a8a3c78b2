#include "cluster_client.hpp"

#include <mailroom/app/config.hpp>
#include <mailroom/auth.hpp>
#include <mailroom/pomelo/transport.hpp>
#include <mailroom/redis/registry.hpp>
#include <mailroom/redis/transport.hpp>
#include <mailroom/tcp/transport.hpp>
#include <mailroom/ws/transport.hpp>

#include <algorithm>
#include <cstdlib>

#include <unistd.h>

namespace mailroom::cli {
namespace {

bool is_registry_url(std::string_view t)
{
    return t.starts_with("redis://") || t.starts_with("redis+cluster://");
}

} // namespace

target_options target_options::from(command_line& cl)
{
    target_options o;
    if (const char* v = std::getenv("MAILROOM_ENV"))
        o.env = v;
    if (auto v = cl.get("env"))
        o.env = *v;
    if (auto v = cl.get("cluster"))
        o.cluster = *v;
    if (auto v = cl.get("timeout"))
        o.timeout = parse_duration("timeout", *v);
    o.verbose = cl.has("verbose");
    if (!cl.positional.empty()) {
        o.target = cl.positional.front();
        cl.positional.erase(cl.positional.begin());
    } else if (const char* v = std::getenv("MAILROOM_CONFIG")) {
        o.target = v;
    } else {
        throw usage_error("no target: give a servers.json path or a registry URL "
                          "(redis://host:port), or set MAILROOM_CONFIG");
    }
    return o;
}

cluster_client::cluster_client(const target_options& options) : options_(options)
{
    mail_station_options so;
    so.client_id = "mailroom-cli-" + std::to_string(::getpid());
    so.connect_timeout = options_.timeout;
    so.request_timeout = options_.timeout;
    so.log.min_level = options_.verbose ? log_level::info : log_level::off;
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] { ioc_.run(); });
    try {
        if (is_registry_url(options_.target)) {
            servers_ = read_registry();
            so.auth = auth_from_environment();
        } else {
            servers_ = load_servers(options_.target, options_.env);
            so.auth = load_auth(options_.target, options_.env);
        }
    } catch (const std::exception& e) {
        work_.reset();
        ioc_.stop();
        thread_.join();
        throw target_error(e.what());
    }
    station_.emplace(ioc_.get_executor(), std::move(so));
    // Every transport the project ships; a server on another one fails its calls with
    // unknown_transport.
    auto add = [&](const char* name, transport t) {
        station_->add_transport(name, std::move(t.mailbox), std::move(t.protocol));
    };
    add("tcp", tcp::make_transport());
    add("ws", ws::make_transport());
    add("redis", redis::make_transport());
    add("pomelo", pomelo::make_transport());
    station_->replace_servers(servers_);
    proxy_.emplace(*station_, router_);
}

cluster_client::~cluster_client()
{
    if (station_)
        station_->close();
    work_.reset();
    if (thread_.joinable())
        thread_.join();
}

const server_info* cluster_client::find(std::string_view id) const
{
    auto it = std::find_if(servers_.begin(), servers_.end(),
                           [&](const server_info& s) { return s.id == id; });
    return it == servers_.end() ? nullptr : &*it;
}

std::vector<server_info> cluster_client::read_registry()
{
    auto reg = redis::make_registry({.url = options_.target,
                                     .cluster = options_.cluster,
                                     .connect_timeout = options_.timeout,
                                     .log = {.min_level = options_.verbose ? log_level::info
                                                                           : log_level::off}});
    auto table = std::make_shared<std::promise<std::vector<server_info>>>();
    auto once = std::make_shared<std::once_flag>();
    auto f = table->get_future();
    // Only a reader: it registers nothing.
    reg->start(ioc_.get_executor(), std::nullopt, [table, once](std::vector<server_info> m) {
        std::call_once(*once, [&] { table->set_value(std::move(m)); });
    });
    const auto status = f.wait_for(options_.timeout + std::chrono::seconds(1));
    reg->stop();
    if (status != std::future_status::ready)
        throw target_error(options_.target + ": the registry did not answer within " +
                           std::to_string(options_.timeout.count()) + " ms (cluster \"" +
                           options_.cluster + "\")");
    return f.get();
}

} // namespace mailroom::cli
