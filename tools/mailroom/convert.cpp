#include "convert.hpp"

#include <cmath>
#include <limits>
#include <string_view>

namespace mailroom::cli {
namespace {

using json = nlohmann::json;
using packer = msgpack::packer<msgpack::sbuffer>;
using kind = type_desc::kind;

std::string shown(const json& v)
{
    auto s = v.dump();
    if (s.size() > 40)
        s = s.substr(0, 37) + "...";
    return s;
}

void pack_json(const json& v, packer& pk)
{
    switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
        pk.pack_nil();
        break;
    case json::value_t::boolean:
        v.get<bool>() ? pk.pack_true() : pk.pack_false();
        break;
    case json::value_t::number_integer:
        pk.pack(v.get<std::int64_t>());
        break;
    case json::value_t::number_unsigned:
        pk.pack(v.get<std::uint64_t>());
        break;
    case json::value_t::number_float:
        pk.pack(v.get<double>());
        break;
    case json::value_t::string: {
        const auto& s = v.get_ref<const std::string&>();
        pk.pack_str(static_cast<std::uint32_t>(s.size()));
        pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        break;
    }
    case json::value_t::binary: {
        const auto& b = v.get_binary();
        pk.pack_bin(static_cast<std::uint32_t>(b.size()));
        pk.pack_bin_body(reinterpret_cast<const char*>(b.data()),
                         static_cast<std::uint32_t>(b.size()));
        break;
    }
    case json::value_t::array:
        pk.pack_array(static_cast<std::uint32_t>(v.size()));
        for (const auto& e : v)
            pack_json(e, pk);
        break;
    case json::value_t::object:
        pk.pack_map(static_cast<std::uint32_t>(v.size()));
        for (const auto& [key, e] : v.items()) {
            pk.pack(key);
            pack_json(e, pk);
        }
        break;
    }
}

class converter {
public:
    explicit converter(packer& pk) : pk_(pk) {}

    // Converts `in` to `t`, packing it and writing its JSON form to `js`; false with `error_`
    // set on a mismatch.
    bool run(const type_desc& t, const json& in, json& js, const std::string& where)
    {
        switch (t.k) {
        case kind::integer:
            return integer(t, in, js, where);
        case kind::floating: {
            if (!in.is_number())
                return fail(where, "a number (" + t.spelling + ")", in);
            const double d = in.get<double>();
            if (t.single && std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
                return fail(where, "a number in the range of float", in);
            pk_.pack(d);
            js = d;
            return true;
        }
        case kind::boolean:
            if (!in.is_boolean())
                return fail(where, "true or false (" + t.spelling + ")", in);
            pack_json(in, pk_);
            js = in;
            return true;
        case kind::string:
            if (!in.is_string())
                return fail(where, "a string (" + t.spelling + ")", in);
            pack_json(in, pk_);
            js = in;
            return true;
        case kind::sequence: {
            if (!in.is_array())
                return fail(where, "an array (" + t.spelling + ")", in);
            if (t.size != 0 && in.size() != t.size)
                return fail(where, "an array of " + std::to_string(t.size) + " elements (" +
                                       t.spelling + ")",
                            in);
            pk_.pack_array(static_cast<std::uint32_t>(in.size()));
            js = json::array();
            for (std::size_t i = 0; i < in.size(); ++i)
                if (!run(t.args[0], in[i], js.emplace_back(), where + "[" + std::to_string(i) + "]"))
                    return false;
            return true;
        }
        case kind::map: {
            if (!in.is_object())
                return fail(where, "an object (" + t.spelling + ")", in);
            pk_.pack_map(static_cast<std::uint32_t>(in.size()));
            js = json::object();
            for (const auto& [key, value] : in.items()) {
                const auto at = where + "." + key;
                if (!map_key(t.args[0], key, at))
                    return false;
                if (!run(t.args[1], value, js[key], at))
                    return false;
            }
            return true;
        }
        case kind::optional:
            if (in.is_null()) {
                pk_.pack_nil();
                js = nullptr;
                return true;
            }
            return run(t.args[0], in, js, where);
        case kind::pair: {
            if (!in.is_array() || in.size() != t.args.size())
                return fail(where, "an array of " + std::to_string(t.args.size()) +
                                       " elements (" + t.spelling + ")",
                            in);
            pk_.pack_array(static_cast<std::uint32_t>(in.size()));
            js = json::array();
            for (std::size_t i = 0; i < in.size(); ++i)
                if (!run(t.args[i], in[i], js.emplace_back(), where + "[" + std::to_string(i) + "]"))
                    return false;
            return true;
        }
        case kind::nothing:
            error_ = where + ": the declaration has a parameter of type " + t.spelling;
            return false;
        case kind::other:
            // A user type (a struct with MSGPACK_DEFINE_MAP reads a map, MSGPACK_DEFINE an
            // array; an enum an integer): the callee checks it.
            pack_json(in, pk_);
            js = in;
            return true;
        }
        return false;
    }

    const std::string& error() const noexcept { return error_; }

private:
    bool integer(const type_desc& t, const json& in, json& js, const std::string& where)
    {
        const auto expected = "an integer (" + t.spelling + ", " + std::to_string(t.min) + ".." +
                              std::to_string(t.max) + ")";
        if (in.is_number_unsigned()) {
            const auto v = in.get<std::uint64_t>();
            if (v > t.max)
                return fail(where, expected, in);
            pk_.pack(v);
            js = v;
            return true;
        }
        if (in.is_number_integer()) {
            const auto v = in.get<std::int64_t>();
            if (v < t.min || (v > 0 && static_cast<std::uint64_t>(v) > t.max))
                return fail(where, expected, in);
            pk_.pack(v);
            js = v;
            return true;
        }
        return fail(where, expected, in);
    }

    // A JSON object's key, packed as the map's key type.
    bool map_key(const type_desc& t, const std::string& key, const std::string& where)
    {
        if (t.k == kind::integer) {
            json parsed = json::parse(key, nullptr, false);
            if (parsed.is_discarded() || !parsed.is_number_integer())
                return fail(where, "a key that is an integer (" + t.spelling + ")", json(key));
            json ignored;
            return integer(t, parsed, ignored, where + " (key)");
        }
        if (t.k != kind::string && t.k != kind::other)
            return fail(where, "a map key of type " + t.spelling + " (not supported)", json(key));
        pk_.pack(key);
        return true;
    }

    bool fail(const std::string& where, const std::string& expected, const json& got)
    {
        error_ = where + ": expected " + expected + ", got " + shown(got);
        return false;
    }

    packer& pk_;
    std::string error_;
};

msgpack::object_handle unpacked(const msgpack::sbuffer& b)
{
    // Copies strings into the handle's zone: `b` is gone once the conversion returns.
    return msgpack::unpack(b.data(), b.size(),
                           [](msgpack::type::object_type, std::size_t, void*) { return false; });
}

} // namespace

std::string convert_args(const signature& sig, const json& args, converted_args& out)
{
    if (!args.is_array())
        return "the arguments must be a JSON array, got " + shown(args);
    if (args.size() != sig.params.size())
        return "expected " + std::to_string(sig.params.size()) + " argument" +
               (sig.params.size() == 1 ? "" : "s") + ", got " + std::to_string(args.size());
    msgpack::sbuffer buf;
    packer pk(buf);
    pk.pack_array(static_cast<std::uint32_t>(args.size()));
    converter c(pk);
    json js = json::array();
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& p = sig.params[i];
        auto where = "argument " + std::to_string(i + 1);
        if (!p.name.empty())
            where += " (" + p.name + ")";
        if (!c.run(p.type, args[i], js.emplace_back(), where))
            return c.error();
    }
    out = converted_args(unpacked(buf), std::move(js));
    return {};
}

converted_args pass_through(const json& args)
{
    msgpack::sbuffer buf;
    packer pk(buf);
    pack_json(args, pk);
    return converted_args(unpacked(buf), args);
}

json to_json(const msgpack::object& o)
{
    switch (o.type) {
    case msgpack::type::NIL:
        return nullptr;
    case msgpack::type::BOOLEAN:
        return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
        return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
        return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return o.via.f64;
    case msgpack::type::STR:
        return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: {
        json a = json::array();
        for (std::uint32_t i = 0; i < o.via.bin.size; ++i)
            a.push_back(static_cast<unsigned char>(o.via.bin.ptr[i]));
        return a;
    }
    case msgpack::type::ARRAY: {
        json a = json::array();
        for (std::uint32_t i = 0; i < o.via.array.size; ++i)
            a.push_back(to_json(o.via.array.ptr[i]));
        return a;
    }
    case msgpack::type::MAP: {
        json m = json::object();
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            std::string key = kv.key.type == msgpack::type::STR
                                  ? std::string(kv.key.via.str.ptr, kv.key.via.str.size)
                                  : to_json(kv.key).dump();
            m[key] = to_json(kv.val);
        }
        return m;
    }
    case msgpack::type::EXT: {
        json data = json::array();
        for (std::uint32_t i = 0; i < o.via.ext.size; ++i)
            data.push_back(static_cast<unsigned char>(o.via.ext.data()[i]));
        return {{"ext", o.via.ext.type()}, {"data", data}};
    }
    }
    return nullptr;
}

} // namespace mailroom::cli
