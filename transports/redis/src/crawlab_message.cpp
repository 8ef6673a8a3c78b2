#include <mailroom/redis/crawlab_message.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace mailroom::redis::crawlab {

std::string encode(const message& m)
{
    nlohmann::json params = nlohmann::json::object();
    for (auto& [k, v] : m.params)
        params[k] = v;
    const nlohmann::json j = {{"id", m.id},         {"method", m.method}, {"node_id", m.node_id},
                              {"params", params},   {"timeout", m.timeout},
                              {"result", m.result}, {"error", m.error}};
    // Invalid UTF-8 (bytes a remote returned) is replaced, not thrown on.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string decode(std::string_view text, message& out) noexcept
{
    try {
        out = {};
        const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
        if (!j.is_object())
            return "not a JSON object";
        auto id = j.find("id");
        if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
            return "no string id";
        out.id = id->get<std::string>();
        auto string_field = [&](const char* key, std::string& to, bool required) -> bool {
            auto it = j.find(key);
            if (it == j.end() || it->is_null())
                return !required;
            if (!it->is_string())
                return false;
            to = it->get<std::string>();
            return true;
        };
        if (!string_field("method", out.method, true))
            return "no string method";
        if (!string_field("node_id", out.node_id, false))
            return "node_id is not a string";
        if (!string_field("result", out.result, false))
            return "result is not a string";
        if (!string_field("error", out.error, false))
            return "error is not a string";
        if (auto p = j.find("params"); p != j.end() && !p->is_null()) {
            if (!p->is_object())
                return "params is not an object";
            for (auto& [k, v] : p->items()) {
                if (!v.is_string())
                    return "params." + k + " is not a string";
                out.params.emplace(k, v.get<std::string>());
            }
        }
        if (auto t = j.find("timeout"); t != j.end() && !t->is_null()) {
            // Clamped to [0, max_timeout] before any conversion: a float out of range of
            // int64 would be undefined behaviour to cast.
            if (t->is_number_unsigned())
                out.timeout = static_cast<std::int64_t>(
                    std::min<std::uint64_t>(t->get<std::uint64_t>(), max_timeout));
            else if (t->is_number_integer())
                out.timeout = std::clamp<std::int64_t>(t->get<std::int64_t>(), 0, max_timeout);
            else if (t->is_number_float()) {
                const double d = t->get<double>();
                out.timeout = d >= 0 && d < static_cast<double>(max_timeout)
                                  ? static_cast<std::int64_t>(d)
                                  : (d >= static_cast<double>(max_timeout) ? max_timeout : 0);
            } else
                return "timeout is not a number";
        }
        return {};
    } catch (...) {
        return "unreadable";
    }
}

std::string request_list(std::string_view prefix, std::string_view node)
{
    std::string k;
    k.reserve(prefix.size() + node.size() + 1);
    k.append(prefix).append(":").append(node);
    return k;
}

std::string reply_key(std::string_view prefix, std::string_view node, std::string_view id)
{
    return request_list(prefix, node).append(":").append(id);
}

std::optional<protocol::method_path> to_path(std::string_view method,
                                             std::string_view default_service)
{
    std::string_view parts[3];
    std::size_t n = 0;
    for (;;) {
        const auto dot = method.find('.');
        if (n == 3)
            return std::nullopt;
        parts[n++] = method.substr(0, dot);
        if (dot == std::string_view::npos)
            break;
        method.remove_prefix(dot + 1);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (parts[i].empty())
            return std::nullopt;
    protocol::method_path p;
    switch (n) {
    case 1:
        if (default_service.empty())
            return std::nullopt;
        p.service = default_service;
        p.method = parts[0];
        break;
    case 2:
        p.service = parts[0];
        p.method = parts[1];
        break;
    default:
        p.ns = parts[0];
        p.service = parts[1];
        p.method = parts[2];
    }
    return p;
}

std::string to_method(const protocol::method_path& path, std::string_view default_service)
{
    std::string m;
    if (path.ns != "user")
        m.append(path.ns).append(".");
    else if (path.service == default_service)
        return std::string(path.method);
    m.append(path.service).append(".").append(path.method);
    return m;
}

std::string make_message_id()
{
    // Ids must not repeat across callers: 122 random bits make that unlikely enough (Crawlab
    // relies on the same).
    std::random_device rd;
    std::uint64_t hi = (std::uint64_t{rd()} << 32) ^ rd();
    std::uint64_t lo = (std::uint64_t{rd()} << 32) ^ rd();
    hi = (hi & ~std::uint64_t{0xf000}) | 0x4000;                    // version 4
    lo = (lo & ~(std::uint64_t{0xc} << 60)) | (std::uint64_t{8} << 60); // variant 10
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (int i = 15; i >= 0; --i) {
        s += hex[(hi >> (i * 4)) & 15];
        if (i == 8 || i == 4)
            s += '-';
    }
    s += '-';
    for (int i = 15; i >= 0; --i) {
        s += hex[(lo >> (i * 4)) & 15];
        if (i == 12)
            s += '-';
    }
    return s;
}

} // namespace mailroom::redis::crawlab
