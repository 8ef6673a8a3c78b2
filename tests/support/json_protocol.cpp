#include "support/json_protocol.hpp"

#include <mailroom/error.hpp>

namespace mailroom::test {
namespace {

void write(frame& out, const nlohmann::json& j)
{
    const std::string s = j.dump();
    out.write(s.data(), s.size());
}

nlohmann::json message_of(const protocol::method_path& path, nlohmann::json args)
{
    return {{"namespace", path.ns},
            {"serverType", path.server_type},
            {"service", path.service},
            {"method", path.method},
            {"args", std::move(args)}};
}

/// A view of string member `key` of `o`, pointing into `o`; false if it is not a string.
bool string_at(const nlohmann::json& o, const char* key, std::string_view& out)
{
    auto it = o.find(key);
    if (it == o.end() || !it->is_string())
        return false;
    out = it->get_ref<const std::string&>();
    return true;
}

} // namespace

std::error_code json_protocol::encode_request(frame& out, std::uint64_t id,
                                              const protocol::method_path& path,
                                              const value_source& args, std::uint32_t) const
{
    nlohmann::json a;
    if (auto ec = args.to_json(a))
        return ec;
    write(out, {{"id", id}, {"msg", message_of(path, std::move(a))}});
    return {};
}

std::error_code json_protocol::encode_notify(frame& out, const protocol::method_path& path,
                                             const value_source& args) const
{
    nlohmann::json a;
    if (auto ec = args.to_json(a))
        return ec;
    write(out, {{"msg", message_of(path, std::move(a))}});
    return {};
}

std::error_code json_protocol::encode_response(frame& out, std::uint64_t id,
                                               const value_source* result) const
{
    nlohmann::json r;
    if (result)
        if (auto ec = result->to_json(r))
            return ec;
    write(out, {{"id", id}, {"resp", nlohmann::json::array({nullptr, std::move(r)})}});
    return {};
}

void json_protocol::encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                                          std::string_view message) const
{
    nlohmann::json err = {{"code", code.value()}, {"message", message}};
    write(out, {{"id", id}, {"resp", nlohmann::json::array({std::move(err)})}});
}

std::error_code json_protocol::decode(std::span<const char> body, msgpack::zone&,
                                      protocol::message& out) const noexcept
{
    try {
        {
            std::lock_guard lock(mu_);
            decoded_.emplace_back(body.data(), body.size());
        }
        const auto& d =
            out.document.emplace(nlohmann::json::parse(body.begin(), body.end(), nullptr, false));
        if (!d.is_object())
            return error::protocol_error;
        std::uint64_t id = 0;
        if (auto it = d.find("id"); it != d.end()) {
            if (!it->is_number_unsigned())
                return error::protocol_error;
            id = it->get<std::uint64_t>();
        }
        if (auto m = d.find("msg"); m != d.end()) {
            auto& r = out.request;
            r = {};
            auto args = m->find("args");
            if (!m->is_object() || !string_at(*m, "namespace", r.path.ns) ||
                !string_at(*m, "serverType", r.path.server_type) ||
                !string_at(*m, "service", r.path.service) ||
                !string_at(*m, "method", r.path.method) || args == m->end() || !args->is_array())
                return error::protocol_error;
            out.kind = id ? protocol::message_kind::request : protocol::message_kind::notify;
            r.id = id;
            r.args = value_view(*args);
            return {};
        }
        auto resp = d.find("resp");
        if (resp == d.end() || !resp->is_array() || resp->empty() || id == 0)
            return error::protocol_error;
        out.kind = protocol::message_kind::response;
        auto& r = out.response;
        r = {};
        r.id = id;
        const auto& err = (*resp)[0];
        if (!err.is_null()) {
            auto code = err.find("code");
            if (!err.is_object() || code == err.end() || !code->is_number_integer() ||
                code->get<int>() == 0 || !string_at(err, "message", r.message))
                return error::protocol_error;
            r.code = code->get<int>();
            return {};
        }
        static const nlohmann::json null_value;
        r.result = value_view(resp->size() > 1 ? (*resp)[1] : null_value);
        return {};
    } catch (...) {
        return error::protocol_error;
    }
}

std::vector<std::string> json_protocol::decoded() const
{
    std::lock_guard lock(mu_);
    return decoded_;
}

} // namespace mailroom::test
