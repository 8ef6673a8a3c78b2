// mailroom call: one call of any method, with JSON arguments checked against its declaration.

#include "cluster_client.hpp"
#include "commands.hpp"
#include "convert.hpp"
#include "error_name.hpp"
#include "exit_code.hpp"
#include "method_lookup.hpp"

#include <mailroom/client/reply.hpp>

#include <cstdio>
#include <future>

namespace mailroom::cli {

/// Prints a failed call's error to stderr: its name, its message, and the remote's message.
void print_call_error(std::error_code ec, const std::string& remote_message)
{
    std::fprintf(stderr, "error: %s (%s)%s%s\n", error_name(ec).c_str(), ec.message().c_str(),
                 remote_message.empty() ? "" : ": ", remote_message.c_str());
}

int run_call(const std::vector<std::string>& args)
{
    auto cl = parse_command_line(args, {"env", "cluster", "timeout", "route", "to"},
                                 {"verbose", "pretty"});
    auto target = target_options::from(cl);
    if (cl.positional.size() != 2)
        throw usage_error("call: expected <target> <method> '<json args array>'");
    const auto& name = cl.positional[0];
    const auto& json_args = cl.positional[1];
    const auto to = cl.get("to");
    const auto route = cl.get("route");
    if (to && route)
        throw usage_error("call: --to and --route exclude each other");
    cluster_client c(target);

    method_target m;
    std::string error;
    if (auto code = lookup_method(c, name, to, m, error); code != exit_code::ok) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return code;
    }
    converted_args converted;
    if (auto code = prepare_args(m, json_args, converted, error); code != exit_code::ok) {
        std::fprintf(stderr, "error: %s (nothing was sent)\n", error.c_str());
        return code;
    }
    if (!m.sig)
        std::fprintf(stderr, "note: %s has no declared signature; arguments sent as given\n",
                     m.display().c_str());

    const auto path = m.path();
    if (m.sig && m.sig->notify) {
        std::promise<std::error_code> done;
        auto cb = [&done](std::error_code ec) { done.set_value(ec); };
        if (to)
            c.rpc().async_notify_to(*to, path, converted, cb);
        else
            c.rpc().async_notify(path, route ? route_param(*route) : route_param(), converted, cb);
        if (auto ec = done.get_future().get()) {
            print_call_error(ec, {});
            return exit_code::call_failed;
        }
        std::fprintf(stderr, "notify sent (no reply)\n");
        return exit_code::ok;
    }

    diagnostics diag;
    std::promise<std::pair<std::error_code, reply>> done;
    auto cb = [&done](std::error_code ec, reply r) { done.set_value({ec, std::move(r)}); };
    call_options options{.timeout = target.timeout, .diag = &diag};
    if (to)
        c.rpc().async_call_to<reply>(*to, path, converted, options, cb);
    else
        c.rpc().async_call<reply>(path, route ? route_param(*route) : route_param(), converted,
                                  options, cb);
    auto [ec, r] = done.get_future().get();
    if (ec) {
        print_call_error(ec, diag.remote_message().empty() ? r.error_message()
                                                           : diag.remote_message());
        return exit_code::call_failed;
    }
    const auto result = r.json() ? *r.json() : to_json(r.get());
    std::printf("%s\n", cl.has("pretty") ? result.dump(2).c_str() : result.dump().c_str());
    return exit_code::ok;
}

} // namespace mailroom::cli
