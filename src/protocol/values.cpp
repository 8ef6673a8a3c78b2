#include <mailroom/protocol/values.hpp>

namespace mailroom {

std::string_view value_view::kind() const noexcept
{
    if (js_) {
        switch (js_->type()) {
        case nlohmann::json::value_t::null: return "null";
        case nlohmann::json::value_t::boolean: return "a boolean";
        case nlohmann::json::value_t::number_unsigned: return "a non-negative integer";
        case nlohmann::json::value_t::number_integer:
            return js_->get<std::int64_t>() < 0 ? "a negative integer" : "a non-negative integer";
        case nlohmann::json::value_t::number_float: return "a floating-point number";
        case nlohmann::json::value_t::string: return "a string";
        case nlohmann::json::value_t::binary: return "binary data";
        case nlohmann::json::value_t::array: return "an array";
        case nlohmann::json::value_t::object: return "an object";
        default: return "a value";
        }
    }
    switch (mp_.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "a boolean";
    case msgpack::type::POSITIVE_INTEGER: return "a non-negative integer";
    case msgpack::type::NEGATIVE_INTEGER: return "a negative integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "a floating-point number";
    case msgpack::type::STR: return "a string";
    case msgpack::type::BIN: return "binary data";
    case msgpack::type::ARRAY: return "an array";
    case msgpack::type::MAP: return "a map";
    default: return "an extension value";
    }
}

} // namespace mailroom
