// routing: every C++ snippet of docs/routing.md, compiled by the build so the page cannot
// drift from the API (a test checks each snippet appears here verbatim). Compiled, not run:
// the routes' behaviour is tested in tests/client (routes_property_test, route_load_test).

#include <mailroom/mailroom.hpp>

#include <optional>
#include <string>

namespace {

struct session {
    std::string uid;
    std::string channel;
};

struct cluster_rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
};

[[maybe_unused]] void choose_routes(mailroom::app<cluster_rpc>& app)
{
    app.routes().set("chat", mailroom::routes::consistent_hash());   // per server type
    app.routes().set("area", mailroom::routes::least_active());
    app.routes().set_default(mailroom::routes::round_robin());       // every other type
}

[[maybe_unused]] void key_from_an_object(mailroom::app<cluster_rpc>& app)
{
    app.routes().set("chat", mailroom::routes::consistent_hash({
        .virtual_nodes = 160,
        .key_of = [](const mailroom::route_param& p) -> std::optional<std::string> {
            if (const auto* s = p.get<session>()) return s->channel;   // route_param::of(s)
            return std::nullopt;                                       // no key: round robin
        }}));
}

// Least loaded among the servers of the caller's zone, or any server of the type.
mailroom::route_function zone_aware(std::string zone)
{
    return [zone](const mailroom::route_param&, const mailroom::protocol::method_path& call,
                  const mailroom::route_context& ctx) -> std::string {
        const mailroom::server_info* best = nullptr;
        for (const mailroom::server_info* s : ctx.of_type(call.server_type)) {
            auto it = s->options.find("zone");          // extra servers.json fields
            if (it == s->options.end() || it->second != zone)
                continue;
            if (!best || ctx.in_flight(*s) < ctx.in_flight(*best))
                best = s;
        }
        if (best)
            return best->id;
        auto all = ctx.of_type(call.server_type);
        return all.empty() ? std::string() : all.front()->id;
    };
}

} // namespace

int main()
{
    // A route function runs on a bare table too (no load: every server reads 0).
    const mailroom::server_table table({{.id = "area-1", .server_type = "area",
                                         .options = {{"zone", "eu"}}},
                                        {.id = "area-2", .server_type = "area"}});
    const auto f = zone_aware("eu");
    const mailroom::protocol::method_path call{.server_type = "area", .service = "s",
                                               .method = "m"};
    return f(mailroom::route_param("k"), call, table) == "area-1" ? 0 : 1;
}
