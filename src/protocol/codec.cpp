#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <limits>

namespace mailroom::protocol {

void encode_void_response(frame& out, std::uint64_t id)
{
    packer pk(out);
    pk.pack_array(5);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::response));
    pk.pack_uint64(id);
    pk.pack_uint8(0);
    pk.pack(std::string_view{});
    pk.pack_nil();
}

void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                           std::string_view message)
{
    packer pk(out);
    pk.pack_array(5);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::response));
    pk.pack_uint64(id);
    pk.pack_int32(code.value());
    pk.pack(message);
    pk.pack_nil();
}

namespace {

void encode_nonce(frame& out, message_kind kind, std::uint64_t nonce)
{
    packer pk(out);
    pk.pack_array(2);
    pk.pack_uint8(static_cast<std::uint8_t>(kind));
    pk.pack_uint64(nonce);
}

} // namespace

void encode_ping(frame& out, std::uint64_t nonce) { encode_nonce(out, message_kind::ping, nonce); }
void encode_pong(frame& out, std::uint64_t nonce) { encode_nonce(out, message_kind::pong, nonce); }

void encode_hello(frame& out, std::string_view peer_id)
{
    packer pk(out);
    pk.pack_array(3);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::hello));
    pk.pack_uint32(version);
    pk.pack(peer_id);
}

void encode_hello_ack(frame& out, std::string_view peer_id, std::error_code code,
                      std::string_view message)
{
    packer pk(out);
    pk.pack_array(5);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::hello_ack));
    pk.pack_uint32(version);
    pk.pack(peer_id);
    pk.pack_int32(code.value());
    pk.pack(message);
}

namespace {

// Strings and binaries may point into the received body: no copy per message.
bool reference_everything(msgpack::type::object_type, std::size_t, void*) { return true; }

bool get_uint(const msgpack::object& o, std::uint64_t& v)
{
    if (o.type != msgpack::type::POSITIVE_INTEGER)
        return false;
    v = o.via.u64;
    return true;
}

bool get_int(const msgpack::object& o, int& v)
{
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
            return false;
        v = static_cast<int>(o.via.u64);
        return true;
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER) {
        if (o.via.i64 < std::numeric_limits<int>::min())
            return false;
        v = static_cast<int>(o.via.i64);
        return true;
    }
    return false;
}

bool get_str(const msgpack::object& o, std::string_view& v)
{
    if (o.type != msgpack::type::STR)
        return false;
    v = {o.via.str.ptr, o.via.str.size};
    return true;
}

bool decode_path(const msgpack::object* e, method_path& p)
{
    return get_str(e[0], p.ns) && get_str(e[1], p.server_type) && get_str(e[2], p.service) &&
           get_str(e[3], p.method);
}

// Optional trailing map of request metadata; unknown keys are ignored so that later
// protocol revisions can add fields (docs/protocol.md, "Request metadata").
bool decode_meta(const msgpack::object& o, request_view& r)
{
    if (o.type != msgpack::type::MAP)
        return false;
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        std::uint64_t key = 0;
        if (!get_uint(kv.key, key))
            return false;
        if (key == 0) {
            std::uint64_t t = 0;
            if (!get_uint(kv.val, t) || t > std::numeric_limits<std::uint32_t>::max())
                return false;
            r.timeout_ms = static_cast<std::uint32_t>(t);
        }
    }
    return true;
}

bool decode_fields(const msgpack::object& root, message& out)
{
    if (root.type != msgpack::type::ARRAY || root.via.array.size < 2)
        return false;
    const msgpack::object* e = root.via.array.ptr;
    const std::uint32_t n = root.via.array.size;
    std::uint64_t kind = 0;
    if (!get_uint(e[0], kind) || kind > static_cast<std::uint64_t>(message_kind::hello_ack))
        return false;
    switch (static_cast<message_kind>(kind)) {
    case message_kind::request: {
        out.kind = message_kind::request;
        auto& r = out.request;
        r = {};
        if ((n != 7 && n != 8) || !get_uint(e[1], r.id) || r.id == 0 || !decode_path(e + 2, r.path))
            return false;
        if (e[6].type != msgpack::type::ARRAY)
            return false;
        r.args = e[6];
        return n == 7 || decode_meta(e[7], r);
    }
    case message_kind::notify: {
        out.kind = message_kind::notify;
        auto& r = out.request;
        r = {};
        if ((n != 6 && n != 7) || !decode_path(e + 1, r.path) ||
            e[5].type != msgpack::type::ARRAY)
            return false;
        r.args = e[5];
        return n == 6 || decode_meta(e[6], r);
    }
    case message_kind::response: {
        out.kind = message_kind::response;
        auto& r = out.response;
        r = {};
        if (n != 5 || !get_uint(e[1], r.id) || !get_int(e[2], r.code) || !get_str(e[3], r.message))
            return false;
        r.result = e[4];
        return true;
    }
    case message_kind::ping:
    case message_kind::pong:
        out.kind = static_cast<message_kind>(kind);
        return n == 2 && get_uint(e[1], out.nonce);
    case message_kind::hello: {
        out.kind = message_kind::hello;
        auto& h = out.hello;
        h = {};
        std::uint64_t v = 0;
        // Later versions may append fields; a hello must stay readable by older peers so that
        // they can answer version_mismatch instead of dropping the connection.
        if (n < 3 || !get_uint(e[1], v) || !get_str(e[2], h.peer_id))
            return false;
        h.version = static_cast<std::uint32_t>(v);
        return v <= std::numeric_limits<std::uint32_t>::max();
    }
    case message_kind::hello_ack: {
        out.kind = message_kind::hello_ack;
        auto& h = out.hello;
        h = {};
        std::uint64_t v = 0;
        if (n < 5 || !get_uint(e[1], v) || !get_str(e[2], h.peer_id) || !get_int(e[3], h.code) ||
            !get_str(e[4], h.message))
            return false;
        h.version = static_cast<std::uint32_t>(v);
        return v <= std::numeric_limits<std::uint32_t>::max();
    }
    }
    return false;
}

} // namespace

std::error_code decode(std::span<const char> body, msgpack::zone& zone, message& out) noexcept
{
    if (body.empty())
        return error::protocol_error;
    // Every element takes at least one byte, so no honest count exceeds the body size; this
    // stops a 5-byte frame from making the decoder allocate an array of 4 billion objects.
    const std::size_t n = body.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, max_nesting);
    try {
        std::size_t off = 0;
        bool referenced = false;
        msgpack::object root = msgpack::unpack(zone, body.data(), body.size(), off, referenced,
                                               &reference_everything, nullptr, limit);
        if (off != body.size() || !decode_fields(root, out))
            return error::protocol_error;
        return {};
    } catch (...) {
        // msgpack reports malformed, truncated and over-limit input by exceptions (and a
        // huge but allowed allocation by bad_alloc); all of them mean a bad frame.
        return error::protocol_error;
    }
}

bool patch_request_timeout(frame& f, std::uint32_t timeout_ms) noexcept
{
    auto b = f.mutable_body();
    const std::size_t n = b.size();
    // fixarray of 8, kind 1 (request), and the tail {0: uint32} written by encode_request
    if (n < 9 || static_cast<unsigned char>(b[0]) != 0x98 || b[1] != 0x01 ||
        static_cast<unsigned char>(b[n - 7]) != 0x81 || b[n - 6] != 0x00 ||
        static_cast<unsigned char>(b[n - 5]) != 0xce)
        return false;
    b[n - 4] = static_cast<char>(timeout_ms >> 24);
    b[n - 3] = static_cast<char>(timeout_ms >> 16);
    b[n - 2] = static_cast<char>(timeout_ms >> 8);
    b[n - 1] = static_cast<char>(timeout_ms);
    return true;
}

std::uint8_t peek_kind(std::span<const char> body) noexcept
{
    // A message is a fixarray (0x90..0x9f) whose first element is a positive fixint kind.
    if (body.size() < 2)
        return 0;
    const auto a = static_cast<unsigned char>(body[0]);
    const auto k = static_cast<unsigned char>(body[1]);
    if ((a & 0xf0) != 0x90 || k > 0x7f)
        return 0;
    return k;
}

bool decode_keepalive(std::span<const char> body, std::uint64_t& nonce) noexcept
{
    msgpack::zone zone;
    message m;
    if (decode(body, zone, m) || (m.kind != message_kind::ping && m.kind != message_kind::pong))
        return false;
    nonce = m.nonce;
    return true;
}

} // namespace mailroom::protocol
