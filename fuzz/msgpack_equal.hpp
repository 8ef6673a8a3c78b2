#pragma once

#include <msgpack.hpp>

#include <cmath>
#include <cstring>

namespace mailroom::fuzz {

inline bool is_float(const msgpack::object& o)
{
    return o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64;
}

inline bool is_integer(const msgpack::object& o)
{
    return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER;
}

/** Deep equality of two decoded msgpack values as values: NaN equals NaN (msgpack's own
    operator== says NaN != NaN), and a float equals the integer of the same value, because
    msgpack-c's packer writes a float with an integral value as an integer (pack_double).
*/
inline bool same(const msgpack::object& a, const msgpack::object& b)
{
    if (is_float(a) && is_integer(b))
        return same(b, a);
    if (is_integer(a) && is_float(b)) {
        const double i = a.type == msgpack::type::POSITIVE_INTEGER ? double(a.via.u64)
                                                                   : double(a.via.i64);
        return i == b.via.f64;
    }
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case msgpack::type::NIL: return true;
    case msgpack::type::BOOLEAN: return a.via.boolean == b.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return a.via.u64 == b.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return a.via.i64 == b.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return (std::isnan(a.via.f64) && std::isnan(b.via.f64)) || a.via.f64 == b.via.f64;
    case msgpack::type::STR:
        return a.via.str.size == b.via.str.size &&
               std::memcmp(a.via.str.ptr, b.via.str.ptr, a.via.str.size) == 0;
    case msgpack::type::BIN:
        return a.via.bin.size == b.via.bin.size &&
               std::memcmp(a.via.bin.ptr, b.via.bin.ptr, a.via.bin.size) == 0;
    case msgpack::type::EXT:
        return a.via.ext.size == b.via.ext.size &&
               std::memcmp(a.via.ext.ptr, b.via.ext.ptr, a.via.ext.size + 1) == 0;
    case msgpack::type::ARRAY:
        if (a.via.array.size != b.via.array.size)
            return false;
        for (std::uint32_t i = 0; i < a.via.array.size; ++i)
            if (!same(a.via.array.ptr[i], b.via.array.ptr[i]))
                return false;
        return true;
    case msgpack::type::MAP:
        if (a.via.map.size != b.via.map.size)
            return false;
        for (std::uint32_t i = 0; i < a.via.map.size; ++i)
            if (!same(a.via.map.ptr[i].key, b.via.map.ptr[i].key) ||
                !same(a.via.map.ptr[i].val, b.via.map.ptr[i].val))
                return false;
        return true;
    }
    return false;
}

} // namespace mailroom::fuzz
