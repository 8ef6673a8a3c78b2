#include <mailroom/error.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/results.hpp>

#include <nlohmann/json.hpp>

#include <limits>
#include <string>

namespace mailroom::pomelo {
namespace {

using json = nlohmann::json;

// Where decode keeps strings and values it derives (a message made of a non-string error,
// several results gathered into one array): inside the message's own document.
constexpr const char* derived_message_key = "$mailroom.message";
constexpr const char* derived_results_key = "$mailroom.results";

// Largest wire id kept as such: JavaScript numbers are exact up to 2^53.
constexpr std::uint64_t max_wire_id = std::uint64_t{1} << 53;

void write(frame& out, const json& j)
{
    // Invalid UTF-8 in a string becomes U+FFFD rather than an exception mid-call.
    const std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    out.write(s.data(), s.size());
}

json message_of(const protocol::method_path& path, json args)
{
    return {{"namespace", path.ns},
            {"serverType", path.server_type},
            {"service", path.service},
            {"method", path.method},
            {"args", std::move(args)}};
}

bool string_at(const json& o, const char* key, std::string_view& out)
{
    auto it = o.find(key);
    if (it == o.end() || !it->is_string())
        return false;
    out = it->get_ref<const std::string&>();
    return true;
}

/// JavaScript's truthiness of a callback's first argument.
bool truthy(const json& v)
{
    switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
        return false;
    case json::value_t::boolean:
        return v.get<bool>();
    case json::value_t::number_integer:
        return v.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned:
        return v.get<std::uint64_t>() != 0;
    case json::value_t::number_float: {
        const double d = v.get<double>();
        return d == d && d != 0.0;
    }
    case json::value_t::string:
        return !v.get_ref<const std::string&>().empty();
    default:
        return true;
    }
}

/// A request nobody serves: the dispatcher answers it with `unknown_service` naming `why`.
void malformed_request(protocol::message& out, std::uint64_t id, std::string_view why)
{
    out.kind = protocol::message_kind::request;
    auto& r = out.request;
    r = {};
    r.id = id;
    r.path.ns = why;
    r.path.service = "";
    r.path.method = "";
}

std::uint64_t request_id_of(const json& d)
{
    auto it = d.find("id");
    if (it == d.end() || !it->is_number_unsigned())
        return json_protocol::no_id;
    const auto wire = it->get<std::uint64_t>();
    return wire <= max_wire_id ? wire + 1 : json_protocol::no_id;
}

/// The error of a response whose first slot is truthy.
void read_error(json& d, const json& err, protocol::response_view& r)
{
    r.code = static_cast<int>(error::remote_error);
    std::string_view text;
    if (err.is_object()) {
        if (auto c = err.find("mailroom_error"); c != err.end() && c->is_number_integer()) {
            const auto v = c->get<std::int64_t>();
            if (v > 0 && v < 1000)
                r.code = static_cast<int>(v);
        }
        if (!string_at(err, "msg", text) || text.empty())
            if (!string_at(err, "message", text) || text.empty())
                if (string_at(err, "stack", text)) {
                    text = text.substr(0, text.find('\n'));
                    if (text.starts_with("Error: "))
                        text.remove_prefix(7);
                }
    } else if (err.is_string()) {
        text = err.get_ref<const std::string&>();
    }
    if (text.empty()) {
        auto& slot = d[derived_message_key];
        slot = err.dump(-1, ' ', false, json::error_handler_t::replace);
        text = slot.get_ref<const std::string&>();
    }
    // pomelo-rpc's dispatcher errors (lib/rpc-server/dispatcher.js).
    if (r.code == static_cast<int>(error::remote_error)) {
        if (text.starts_with("no such method:"))
            r.code = static_cast<int>(error::unknown_method);
        else if (text.starts_with("no such service:") || text.starts_with("no such namespace:"))
            r.code = static_cast<int>(error::unknown_service);
    }
    r.message = text;
}

std::error_code decode_response(json& d, protocol::message& out)
{
    out.kind = protocol::message_kind::response;
    auto& r = out.response;
    r = {};
    // Without a usable id (the answer to a notify): an id no call has, so the answer is
    // dropped as a late one. Not 0: the station's pending table does not expect to be asked
    // for it.
    r.id = json_protocol::no_id;
    if (auto it = d.find("id"); it != d.end() && it->is_number_unsigned() &&
                                it->get<std::uint64_t>() < max_wire_id)
        r.id = it->get<std::uint64_t>() + 1;
    static const json null_value;
    const json& resp = d["resp"];
    if (!resp.is_array()) {
        r.code = static_cast<int>(error::protocol_error);
        r.message = "response without a resp array";
        return {};
    }
    if (!resp.empty() && truthy(resp[0])) {
        read_error(d, resp[0], r);
        return {};
    }
    if (resp.size() <= 1) {
        r.result = value_view(null_value);
    } else if (resp.size() == 2) {
        r.result = value_view(resp[1]);
    } else {
        json all(resp.begin() + 1, resp.end());
        auto& slot = d[derived_results_key];
        slot = std::move(all);
        r.result = value_view(slot);
    }
    return {};
}

void decode_request(const json& d, protocol::message& out)
{
    const std::uint64_t id = request_id_of(d);
    auto m = d.find("msg");
    if (m == d.end() || !m->is_object())
        return malformed_request(out, id, "(malformed request: msg is not an object)");
    out.kind = protocol::message_kind::request;
    auto& r = out.request;
    r = {};
    r.id = id;
    if (!string_at(*m, "namespace", r.path.ns) || !string_at(*m, "service", r.path.service) ||
        !string_at(*m, "method", r.path.method))
        return malformed_request(out, id,
                                 "(malformed request: namespace, service or method is not a "
                                 "string)");
    string_at(*m, "serverType", r.path.server_type); // sent, ignored by the stock server too
    static const json no_args;
    auto args = m->find("args");
    // Not an array: the handler's binding answers bad_arguments, naming what came.
    r.args = value_view(args == m->end() ? no_args : *args);
}

} // namespace

std::error_code json_protocol::encode_request(frame& out, std::uint64_t id,
                                              const protocol::method_path& path,
                                              const value_source& args, std::uint32_t) const
{
    json a;
    if (auto ec = args.to_json(a))
        return ec;
    // The wire counts from 0, as the stock client does (its first call is id 0).
    write(out, {{"id", id - 1}, {"msg", message_of(path, std::move(a))}});
    return {};
}

std::error_code json_protocol::encode_notify(frame& out, const protocol::method_path& path,
                                             const value_source& args) const
{
    json a;
    if (auto ec = args.to_json(a))
        return ec;
    write(out, {{"msg", message_of(path, std::move(a))}});
    return {};
}

std::error_code json_protocol::encode_response(frame& out, std::uint64_t id,
                                               const value_source* result) const
{
    json resp = json::array({nullptr});
    if (result) {
        json r;
        if (auto ec = result->to_json(r))
            return ec;
        // results<...>: spread over the callback's arguments.
        if (r.is_object() && r.size() == 1)
            if (auto it = r.find(results_key); it != r.end() && it->is_array()) {
                for (auto& e : *it)
                    resp.push_back(std::move(e));
                r = nullptr;
                result = nullptr;
            }
        if (result)
            resp.push_back(std::move(r));
    }
    json o = json::object();
    if (id != no_id)
        o["id"] = id - 1;
    o["resp"] = std::move(resp);
    write(out, o);
    return {};
}

void json_protocol::encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                                          std::string_view message) const
{
    std::string text = message.empty() ? code.message() : std::string(message);
    json err = {{"msg", text}, {"stack", "Error: " + text}, {"mailroom_error", code.value()}};
    json o = json::object();
    if (id != no_id)
        o["id"] = id - 1;
    o["resp"] = json::array({std::move(err)});
    write(out, o);
}

std::error_code json_protocol::decode(std::span<const char> body, msgpack::zone&,
                                      protocol::message& out) const noexcept
{
    try {
        auto& d =
            out.document.emplace(json::parse(body.begin(), body.end(), nullptr, false));
        if (d.is_discarded()) {
            malformed_request(out, no_id, "(malformed request: not JSON)");
            return {};
        }
        if (!d.is_object()) {
            malformed_request(out, no_id, "(malformed request: not an object)");
            return {};
        }
        if (d.contains("resp") && !d.contains("msg"))
            return decode_response(d, out);
        decode_request(d, out);
        return {};
    } catch (...) {
        // A number beyond a double's range throws even without exceptions asked for.
        out.document.reset();
        malformed_request(out, no_id, "(malformed request: not JSON)");
        return {};
    }
}

const std::shared_ptr<const wire_protocol>& make_protocol()
{
    static const std::shared_ptr<const wire_protocol> p = std::make_shared<json_protocol>();
    return p;
}

} // namespace mailroom::pomelo
