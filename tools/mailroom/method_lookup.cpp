#include "method_lookup.hpp"
#include "error_name.hpp"

#include <mailroom/app/sys.hpp>

#include <tuple>

namespace mailroom::cli {
namespace {

std::vector<std::string> split_dots(const std::string& s)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        auto dot = s.find('.', start);
        parts.push_back(s.substr(start, dot - start));
        if (dot == std::string::npos)
            return parts;
        start = dot + 1;
    }
}

} // namespace

exit_code lookup_method(cluster_client& c, const std::string& name,
                        const std::optional<std::string>& to, method_target& out,
                        std::string& error)
{
    auto parts = split_dots(name);
    if (parts.size() == 3)
        parts.insert(parts.begin(), "user");
    if (parts.size() != 4 || std::any_of(parts.begin() + 1, parts.end(),
                                         [](const std::string& p) { return p.empty(); })) {
        error = "\"" + name + "\": expected serverType.service.method or "
                              "ns.serverType.service.method (e.g. chat.chatRemote.get)";
        return exit_code::usage;
    }
    out.ns = parts[0];
    out.server_type = parts[1];
    out.service = parts[2];
    out.method = parts[3];

    std::vector<const server_info*> candidates;
    if (to) {
        const auto* s = c.find(*to);
        if (!s) {
            error = "no server with id \"" + *to + "\" in " + c.options().target;
            return exit_code::not_found;
        }
        if (s->server_type != out.server_type) {
            error = "server \"" + *to + "\" is of type \"" + s->server_type + "\", not \"" +
                    out.server_type + "\"";
            return exit_code::not_found;
        }
        candidates.push_back(s);
    } else {
        for (const auto& s : c.servers())
            if (s.server_type == out.server_type)
                candidates.push_back(&s);
        if (candidates.empty()) {
            error = "no server of type \"" + out.server_type + "\" in " + c.options().target;
            return exit_code::not_found;
        }
    }
    std::string failures;
    for (const auto* s : candidates) {
        auto [ec, methods] = c.call_to<std::vector<method_description>>(
            s->id, {"sys", s->server_type, "introspect", "methods"}, std::tuple<>{});
        if (ec) {
            failures += (failures.empty() ? "" : ", ") + s->id + ": " + error_name(ec) + " (" +
                        ec.message() + ")";
            continue;
        }
        std::string others;
        for (const auto& m : methods) {
            if (m.ns == out.ns && m.service == out.service && m.method == out.method) {
                out.signature_text = m.signature;
                out.sig = parse_signature(m.signature);
                out.listed_by = s->id;
                return exit_code::ok;
            }
            if (m.ns == out.ns && m.service == out.service)
                others += (others.empty() ? "" : ", ") + m.method;
        }
        error = s->id + " has no method " + out.display() +
                (others.empty() ? " (nor any method of that service)"
                                : " (" + out.service + " has: " + others + ")");
        return exit_code::not_found;
    }
    error = "no server of type \"" + out.server_type + "\" answered sys.introspect.methods: " +
            failures;
    return exit_code::not_found;
}

exit_code prepare_args(const method_target& m, const std::string& json_text, converted_args& out,
                       std::string& error)
{
    auto args = nlohmann::json::parse(json_text, nullptr, false);
    if (args.is_discarded()) {
        error = "the arguments are not valid JSON: " + json_text;
        return exit_code::usage;
    }
    if (!args.is_array()) {
        error = "the arguments must be a JSON array (e.g. '[\"room-1\"]'), got " + json_text;
        return exit_code::usage;
    }
    if (!m.sig) {
        // No declaration to check against: the callee checks (bad_arguments).
        out = pass_through(args);
        return exit_code::ok;
    }
    if (auto e = convert_args(*m.sig, args, out); !e.empty()) {
        error = m.display() + " is declared " + m.signature_text +
                ": " + e;
        return exit_code::usage;
    }
    return exit_code::ok;
}

} // namespace mailroom::cli
