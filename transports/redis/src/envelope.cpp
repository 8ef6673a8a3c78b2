#include <mailroom/redis/envelope.hpp>

#include <msgpack.hpp>

#include <chrono>

namespace mailroom::redis {

namespace {

struct string_buffer {
    std::string& s;
    void write(const char* p, std::size_t n) { s.append(p, n); }
};

} // namespace

std::string encode(const request_envelope& e)
{
    std::string out;
    out.reserve(e.body.size() + e.reply_list.size() + 24);
    string_buffer b{out};
    msgpack::packer<string_buffer> pk(b);
    pk.pack_array(4);
    pk.pack_uint8(1);
    pk.pack(e.reply_list);
    pk.pack_uint64(e.deadline_ms);
    pk.pack_bin(static_cast<std::uint32_t>(e.body.size()));
    pk.pack_bin_body(e.body.data(), static_cast<std::uint32_t>(e.body.size()));
    return out;
}

std::string encode(const reply_envelope& e)
{
    std::string out;
    out.reserve(e.body.size() + e.node.size() + 12);
    string_buffer b{out};
    msgpack::packer<string_buffer> pk(b);
    pk.pack_array(2);
    pk.pack(e.node);
    pk.pack_bin(static_cast<std::uint32_t>(e.body.size()));
    pk.pack_bin_body(e.body.data(), static_cast<std::uint32_t>(e.body.size()));
    return out;
}

namespace {

// Unpacks without copying: strings and bin point into `entry`. An envelope is one flat array
// of at most four scalars, so the limits refuse anything else before msgpack allocates for
// it: a header declaring 2^32 map entries in a 10-byte entry costs nothing.
bool unpack(std::string_view entry, msgpack::object_handle& oh) noexcept
{
    try {
        std::size_t off = 0;
        bool referenced = false;
        const msgpack::unpack_limit limit(/*array=*/4, /*map=*/0, /*str=*/entry.size(),
                                          /*bin=*/entry.size(), /*ext=*/0, /*depth=*/2);
        oh = msgpack::unpack(
            entry.data(), entry.size(), off, referenced,
            [](msgpack::type::object_type, std::size_t, void*) { return true; }, nullptr, limit);
        return off == entry.size() && oh.get().type == msgpack::type::ARRAY;
    } catch (...) {
        return false;
    }
}

std::span<const char> bin_of(const msgpack::object& o)
{
    return {o.via.bin.ptr, o.via.bin.size};
}

} // namespace

std::optional<request_envelope> decode_request(std::string_view entry) noexcept
{
    msgpack::object_handle oh;
    if (!unpack(entry, oh))
        return std::nullopt;
    auto& a = oh.get().via.array;
    if (a.size != 4 || a.ptr[0].type != msgpack::type::POSITIVE_INTEGER || a.ptr[0].via.u64 != 1 ||
        a.ptr[1].type != msgpack::type::STR || a.ptr[2].type != msgpack::type::POSITIVE_INTEGER ||
        a.ptr[3].type != msgpack::type::BIN)
        return std::nullopt;
    return request_envelope{.reply_list = {a.ptr[1].via.str.ptr, a.ptr[1].via.str.size},
                            .deadline_ms = a.ptr[2].via.u64,
                            .body = bin_of(a.ptr[3])};
}

std::optional<reply_envelope> decode_reply(std::string_view entry) noexcept
{
    msgpack::object_handle oh;
    if (!unpack(entry, oh))
        return std::nullopt;
    auto& a = oh.get().via.array;
    if (a.size != 2 || a.ptr[0].type != msgpack::type::STR || a.ptr[1].type != msgpack::type::BIN)
        return std::nullopt;
    return reply_envelope{.node = {a.ptr[0].via.str.ptr, a.ptr[0].via.str.size},
                          .body = bin_of(a.ptr[1])};
}

std::uint64_t unix_now_ms() noexcept
{
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

} // namespace mailroom::redis
