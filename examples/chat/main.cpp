// chat-server: one server of the chat example's cluster, a port of the RPC part of pomelo's
// chat demo.
//
// Runs as any server of servers.json; its type there decides what it serves:
//   - "chat":      chatRemote, the channels this server holds (chat_service);
//   - "connector": entryRemote, which forwards users' requests to the chat server of the
//                  channel, picked by a custom route function (chat_route) from the session.
// Every server also answers the App's built-in sys remotes (sys.health.ping, ...). A server
// entry may use "transport": "tcp" (the default) or "redis" (docs/redis-transport.md).
// It runs until SIGINT or SIGTERM, then stops gracefully. run_cluster.sh starts a cluster of
// four and runs chat-driver against it; README.md shows how to start one by hand.
//
// With --registry URL (a redis:// URL) the server also registers in a Redis registry and
// learns the servers there as they come and go (docs/membership.md): a chat server started
// later, with a config that lists only itself, joins every connector's table.
//
// usage: chat-server --config servers.json --server-id ID [--env NAME] [--threads N]
//                    [--registry redis://host:port]

#include "chat_protocol.hpp"
#include "chat_route.hpp"
#include "chat_service.hpp"
#include "connector_service.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/redis.hpp>
#include <mailroom/redis/registry.hpp>
#include <mailroom/tcp.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

void print_usage(const char* argv0)
{
    std::fprintf(stderr,
                 "usage: %s --config servers.json --server-id ID [--env NAME] [--threads N]\n"
                 "          [--registry redis://host:port]\n"
                 "  runs server ID of servers.json: a \"chat\" server or a \"connector\"\n",
                 argv0);
}

/// Takes `--registry URL` out of the arguments (the App's own parser does not know it).
std::string take_registry(std::vector<const char*>& args)
{
    std::string url;
    for (std::size_t i = 1; i < args.size();) {
        const std::string_view a = args[i];
        if (a == "--registry" && i + 1 < args.size()) {
            url = args[i + 1];
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                       args.begin() + static_cast<std::ptrdiff_t>(i + 2));
        } else if (a.starts_with("--registry=")) {
            url = a.substr(11);
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            ++i;
        }
    }
    return url;
}

} // namespace

int main(int argc, char** argv)
{
    // The services must outlive the App that serves them, so they are declared first; which
    // one exists depends on this server's type, known once the App has read the config.
    std::optional<chat::chat_service> chat_service;
    std::optional<chat::connector_service> connector_service;
    try {
        std::vector<const char*> args(argv, argv + argc);
        const std::string registry = take_registry(args);
        auto options =
            mailroom::app_options::from_args(static_cast<int>(args.size()), args.data());
        options.log.min_level = mailroom::log_level::info;
        if (!registry.empty())
            options.registry = mailroom::redis::make_registry(
                {.url = registry, .cluster = "chat", .log = options.log});
        mailroom::app<chat::chat_rpc> app(std::move(options));
        app.add_transport("tcp", mailroom::tcp::make_transport());
        // Servers with "transport": "redis" are addressed by id alone, through the Redis their
        // "redis_url" names (run_cluster.sh --transport redis); nothing connects to Redis
        // unless such a server is called or is this one.
        app.add_transport("redis", mailroom::redis::make_transport());
        // Calls to chat servers go to the server of their channel.
        app.routes().set("chat", chat::chat_route());

        const auto& self = app.self();
        if (self.server_type == "chat") {
            app.serve<chat::chat_remote>(chat_service.emplace(self.id));
        } else if (self.server_type == "connector") {
            app.serve<chat::entry_remote>(
                connector_service.emplace(app.rpc, self.id, [&app] { return app.cluster(); }));
        } else {
            std::fprintf(stderr, "%s: server \"%s\" is of type \"%s\"; expected \"chat\" or "
                                 "\"connector\"\n",
                         argv[0], self.id.c_str(), self.server_type.c_str());
            return 2;
        }
        return app.run();
    } catch (const mailroom::config_error& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        print_usage(argv[0]);
        return 2;
    } catch (const std::exception& e) { // e.g. std::system_error: cannot listen
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
