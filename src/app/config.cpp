#include <mailroom/app/config.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace mailroom {
namespace {

[[noreturn]] void fail(std::string_view origin, const std::string& field, const std::string& what)
{
    throw config_error(std::string(origin) + ": " + field + ": " + what);
}

std::string text_of(const nlohmann::json& v)
{
    return v.is_string() ? v.get<std::string>() : v.dump();
}

server_info parse_server(const nlohmann::json& s, const std::string& type, const std::string& field,
                         std::string_view origin)
{
    if (!s.is_object())
        fail(origin, field, "expected an object {id, host, port, ...}");
    server_info info;
    info.server_type = type;
    for (const auto& [key, value] : s.items()) {
        const std::string where = field + "." + key;
        if (key == "id" || key == "host" || key == "transport") {
            if (!value.is_string() || value.get<std::string>().empty())
                fail(origin, where, "expected a non-empty string, got " + value.dump());
            (key == "id" ? info.id : key == "host" ? info.host : info.transport) = value.get<std::string>();
        } else if (key == "port") {
            if (!value.is_number_integer() || value.get<long long>() < 1 || value.get<long long>() > 65535)
                fail(origin, where, "expected an integer in 1..65535, got " + value.dump());
            info.port = static_cast<std::uint16_t>(value.get<long long>());
        } else if (key == "weight") {
            if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > 1'000'000)
                fail(origin, where, "expected an integer in 0..1000000, got " + value.dump());
            info.weight = static_cast<int>(value.get<long long>());
        } else {
            info.options.emplace(key, text_of(value));
        }
    }
    if (info.id.empty())
        fail(origin, field + ".id", "missing");
    // A node on the Redis-queue transport is addressed by its id alone (its calls wait in
    // Redis, docs/redis-transport.md); every other transport connects to a host and port.
    if (info.transport == "redis")
        return info;
    if (info.host.empty())
        fail(origin, field + ".host", "missing");
    if (info.port == 0)
        fail(origin, field + ".port", "missing");
    return info;
}

} // namespace

std::vector<server_info> parse_servers(std::string_view json, std::string_view env,
                                       std::string_view origin)
{
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        // Not only parse_error: a number beyond a double's range ("1e400") is out_of_range.
        fail(origin, "(document)", std::string("not valid JSON: ") + e.what());
    }
    if (!root.is_object())
        fail(origin, "(document)", "expected an object keyed by environment");
    auto it = root.find(std::string(env));
    if (it == root.end())
        fail(origin, std::string(env), "no such environment");
    if (!it->is_object())
        fail(origin, std::string(env), "expected an object keyed by server type");
    std::vector<server_info> out;
    std::set<std::string> ids;
    for (const auto& [type, list] : it->items()) {
        if (type == "auth") // the cluster's authentication (load_auth), not a server type
            continue;
        const std::string field = std::string(env) + "." + type;
        if (!list.is_array())
            fail(origin, field, "expected an array of servers");
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string where = field + "[" + std::to_string(i) + "]";
            auto info = parse_server(list[i], type, where, origin);
            if (!ids.insert(info.id).second)
                fail(origin, where + ".id", "duplicate server id \"" + info.id + "\"");
            out.push_back(std::move(info));
        }
    }
    return out;
}

namespace {

std::string read_file(const std::filesystem::path& file)
{
    std::ifstream in(file);
    if (!in)
        throw config_error(file.string() + ": cannot open the file");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string checked_secret(std::string secret, std::string_view origin, const std::string& field)
{
    // Never the secret's bytes in a message: only its length.
    if (secret.size() < min_auth_secret_size)
        fail(origin, field,
             "the secret has " + std::to_string(secret.size()) + " bytes; at least " +
                 std::to_string(min_auth_secret_size) + " are required");
    return secret;
}

} // namespace

std::vector<server_info> load_servers(const std::filesystem::path& file, std::string_view env)
{
    return parse_servers(read_file(file), env, file.string());
}

auth_options parse_auth(std::string_view json, std::string_view env, std::string_view origin)
{
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        fail(origin, "(document)", std::string("not valid JSON: ") + e.what());
    }
    auth_options out;
    const nlohmann::json* section = nullptr;
    if (root.is_object())
        if (auto it = root.find(std::string(env)); it != root.end() && it->is_object())
            if (auto a = it->find("auth"); a != it->end())
                section = &*a;
    if (!section) {
        if (const char* v = std::getenv(cluster_secret_variable); v && *v)
            out.secret = checked_secret(v, "environment", cluster_secret_variable);
        return out;
    }
    const std::string field = std::string(env) + ".auth";
    if (!section->is_object())
        fail(origin, field, "expected an object {secret_env | secret_file | secret, required}");
    int sources = 0;
    for (const auto& [key, value] : section->items()) {
        const std::string where = field + "." + key;
        if (key == "required") {
            if (!value.is_boolean())
                fail(origin, where, "expected true or false, got " + value.dump());
            out.required = value.get<bool>();
            continue;
        }
        if (key != "secret_env" && key != "secret_file" && key != "secret")
            fail(origin, where, "unknown key (expected secret_env, secret_file, secret or required)");
        if (!value.is_string() || value.get<std::string>().empty())
            fail(origin, where, "expected a non-empty string");
        ++sources;
        const auto text = value.get<std::string>();
        if (key == "secret_env") {
            const char* v = std::getenv(text.c_str());
            if (!v || !*v)
                fail(origin, where, "the environment variable " + text + " is not set");
            out.secret = checked_secret(v, origin, where);
        } else if (key == "secret_file") {
            std::string secret;
            try {
                secret = read_file(text);
            } catch (const config_error&) {
                fail(origin, where, "cannot read the file " + text);
            }
            if (!secret.empty() && secret.back() == '\n')
                secret.pop_back();
            if (!secret.empty() && secret.back() == '\r')
                secret.pop_back();
            out.secret = checked_secret(std::move(secret), origin, where);
        } else {
            out.secret = checked_secret(text, origin, where);
        }
    }
    if (sources != 1)
        fail(origin, field, "expected exactly one of secret_env, secret_file and secret");
    return out;
}

auth_options load_auth(const std::filesystem::path& file, std::string_view env)
{
    return parse_auth(read_file(file), env, file.string());
}

} // namespace mailroom
