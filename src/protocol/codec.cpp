#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>

namespace mailroom::protocol {

namespace detail {

namespace {

// Trace id, span id, flags: the 25 bytes of the metadata's key 1 (docs/protocol.md).
constexpr std::size_t trace_bytes = 25;

void write_trace(char* out, const trace_context& t) noexcept
{
    std::memcpy(out, t.trace_id.data(), t.trace_id.size());
    std::memcpy(out + 16, t.span_id.data(), t.span_id.size());
    out[24] = static_cast<char>(t.flags);
}

} // namespace

void begin_request(frame& out, std::uint64_t id, const method_path& path, bool with_timeout)
{
    packer pk(out);
    pk.pack_array(with_timeout ? 8 : 7);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::request));
    pk.pack_uint64(id);
    pk.pack(path.ns);
    pk.pack(path.server_type);
    pk.pack(path.service);
    pk.pack(path.method);
}

void end_request(frame& out, std::uint32_t timeout_ms) noexcept
{
    if (!timeout_ms)
        return;
    // {0: timeout} with the timeout always as a 4-byte uint32 (0xce), so the station can
    // rewrite it in place with the time that remains when the frame is sent.
    const char meta[] = {'\x81', '\x00', '\xce', static_cast<char>(timeout_ms >> 24),
                         static_cast<char>(timeout_ms >> 16), static_cast<char>(timeout_ms >> 8),
                         static_cast<char>(timeout_ms)};
    out.write(meta, sizeof meta);
}

void end_traced_request(frame& out, std::uint32_t timeout_ms, const trace_context& trace) noexcept
{
    // {1: bin(25) trace, 0: uint32 timeout}: the timeout stays the frame's last field, so
    // patch_request_timeout rewrites it in place as without a trace.
    char meta[4 + trace_bytes + 6] = {'\x82', '\x01', '\xc4', static_cast<char>(trace_bytes)};
    write_trace(meta + 4, trace);
    char* t = meta + 4 + trace_bytes;
    t[0] = '\x00';
    t[1] = '\xce';
    t[2] = static_cast<char>(timeout_ms >> 24);
    t[3] = static_cast<char>(timeout_ms >> 16);
    t[4] = static_cast<char>(timeout_ms >> 8);
    t[5] = static_cast<char>(timeout_ms);
    out.write(meta, sizeof meta);
}

void begin_notify(frame& out, const method_path& path, bool with_meta)
{
    packer pk(out);
    pk.pack_array(with_meta ? 7 : 6);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::notify));
    pk.pack(path.ns);
    pk.pack(path.server_type);
    pk.pack(path.service);
    pk.pack(path.method);
}

void end_traced_notify(frame& out, const trace_context& trace) noexcept
{
    char meta[4 + trace_bytes] = {'\x81', '\x01', '\xc4', static_cast<char>(trace_bytes)};
    write_trace(meta + 4, trace);
    out.write(meta, sizeof meta);
}

void begin_response(frame& out, std::uint64_t id)
{
    packer pk(out);
    pk.pack_array(5);
    pk.pack_uint8(static_cast<std::uint8_t>(message_kind::response));
    pk.pack_uint64(id);
    pk.pack_uint8(0);
    pk.pack(std::string_view{});
}

} // namespace detail

void encode_void_response(frame& out, std::uint64_t id)
{
    detail::begin_response(out, id);
    packer(out).pack_nil();
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
    hello_view h;
    h.version = min_version;
    h.peer_id = peer_id;
    encode_handshake(out, message_kind::hello, h);
}

void encode_hello_ack(frame& out, std::string_view peer_id, std::error_code code,
                      std::string_view message)
{
    hello_view h;
    h.version = min_version;
    h.peer_id = peer_id;
    h.code = code.value();
    h.message = message;
    encode_handshake(out, message_kind::hello_ack, h);
}

void encode_handshake(frame& out, message_kind kind, const hello_view& h)
{
    packer pk(out);
    auto bin = [&](std::string_view b) {
        pk.pack_bin(static_cast<std::uint32_t>(b.size()));
        pk.pack_bin_body(b.data(), static_cast<std::uint32_t>(b.size()));
    };
    switch (kind) {
    case message_kind::hello:
        pk.pack_array(h.nonce.empty() ? 3 : 4);
        pk.pack_uint8(static_cast<std::uint8_t>(kind));
        pk.pack_uint32(h.version);
        pk.pack(h.peer_id);
        if (!h.nonce.empty())
            bin(h.nonce);
        return;
    case message_kind::hello_ack:
        pk.pack_array(h.epoch != 0 ? 7 : h.proof.empty() ? 5 : 6);
        pk.pack_uint8(static_cast<std::uint8_t>(kind));
        pk.pack_uint32(h.version);
        pk.pack(h.peer_id);
        pk.pack_int32(h.code);
        pk.pack(h.message);
        if (!h.proof.empty())
            bin(h.proof);
        else if (h.epoch != 0)
            pk.pack_nil(); // no proof, but the epoch follows
        if (h.epoch != 0)
            pk.pack_uint64(h.epoch);
        return;
    case message_kind::challenge:
        pk.pack_array(3);
        pk.pack_uint8(static_cast<std::uint8_t>(kind));
        pk.pack(h.peer_id);
        bin(h.nonce);
        return;
    case message_kind::proof:
        pk.pack_array(2);
        pk.pack_uint8(static_cast<std::uint8_t>(kind));
        bin(h.proof);
        return;
    default:
        return; // not a handshake message: nothing appended
    }
}

namespace {

namespace mt = msgpack::type;

/** A msgpack reader over one message body, without the generic unpacker: the envelope's
    fields are read in place, and only the arguments, the result and unknown trailing fields
    become msgpack objects, allocated in the caller's zone. Strings, binaries and extension
    payloads point into the body (no copy). Every read checks the bytes it needs, every
    element count is checked against the bytes left (each element takes at least one byte),
    and containers nest at most `max_nesting` deep, root included: bad input fails, it never
    reads out of bounds, allocates without bound or recurses without bound.
*/
class reader {
public:
    reader(std::span<const char> body, msgpack::zone& zone, std::size_t ratio)
        : p_(reinterpret_cast<const unsigned char*>(body.data())), end_(p_ + body.size()),
          zone_(zone),
          budget_((decoded_bytes_floor + std::min(ratio, decoded_bytes_per_byte) * body.size()) /
                  sizeof(msgpack::object))
    {
    }

    /// The body needed more decoded values than its budget.
    bool over_budget() const noexcept { return over_budget_; }

    bool done() const noexcept { return p_ == end_; }

    bool array(std::uint32_t& n) { return header_of(mt::ARRAY, n); }

    bool uint(std::uint64_t& v)
    {
        msgpack::object o;
        if (!token(o) || o.type != mt::POSITIVE_INTEGER)
            return false;
        v = o.via.u64;
        return true;
    }

    bool int32(int& v)
    {
        msgpack::object o;
        if (!token(o))
            return false;
        if (o.type == mt::POSITIVE_INTEGER && o.via.u64 <= std::numeric_limits<int>::max())
            v = static_cast<int>(o.via.u64);
        else if (o.type == mt::NEGATIVE_INTEGER && o.via.i64 >= std::numeric_limits<int>::min())
            v = static_cast<int>(o.via.i64);
        else
            return false;
        return true;
    }

    bool bin(std::string_view& v)
    {
        msgpack::object o;
        if (!token(o) || o.type != mt::BIN)
            return false;
        v = {o.via.bin.ptr, o.via.bin.size};
        return true;
    }

    bool str(std::string_view& v)
    {
        msgpack::object o;
        if (!token(o) || o.type != mt::STR)
            return false;
        v = {o.via.str.ptr, o.via.str.size};
        return true;
    }

    /// Reads one whole value into `o`; `depth` is the nesting level it sits at (root: 1).
    bool value(msgpack::object& o, std::size_t depth)
    {
        if (!token(o))
            return false;
        if (o.type == mt::ARRAY) {
            if (depth > max_nesting)
                return false;
            const std::uint32_t n = o.via.array.size;
            if (!spend(n))
                return false;
            o.via.array.ptr = n ? allocate<msgpack::object>(n) : nullptr;
            for (std::uint32_t i = 0; i < n; ++i)
                if (!value(o.via.array.ptr[i], depth + 1))
                    return false;
        } else if (o.type == mt::MAP) {
            if (depth > max_nesting)
                return false;
            const std::uint32_t n = o.via.map.size;
            if (!spend(2ull * n))
                return false;
            o.via.map.ptr = n ? allocate<msgpack::object_kv>(n) : nullptr;
            for (std::uint32_t i = 0; i < n; ++i)
                if (!value(o.via.map.ptr[i].key, depth + 1) ||
                    !value(o.via.map.ptr[i].val, depth + 1))
                    return false;
        }
        return true;
    }

    /// Reads (and checks) `n` values nobody needs: fields a later revision appended.
    bool skip(std::uint32_t n, std::size_t depth)
    {
        msgpack::object o;
        for (std::uint32_t i = 0; i < n; ++i)
            if (!value(o, depth))
                return false;
        return true;
    }

    /// The map of request metadata; unknown keys are ignored (docs/protocol.md).
    bool meta(request_view& r)
    {
        std::uint32_t n = 0;
        if (!header_of(mt::MAP, n))
            return false;
        for (std::uint32_t i = 0; i < n; ++i) {
            std::uint64_t key = 0;
            if (!uint(key))
                return false;
            if (key == 1) {
                // A trace of another shape (a later revision's) is ignored like an unknown
                // key: the callee starts a new trace.
                msgpack::object o;
                if (!value(o, 3))
                    return false;
                if (o.type == mt::BIN && o.via.bin.size == 25) {
                    std::memcpy(r.trace.trace_id.data(), o.via.bin.ptr, 16);
                    std::memcpy(r.trace.span_id.data(), o.via.bin.ptr + 16, 8);
                    r.trace.flags = static_cast<std::uint8_t>(o.via.bin.ptr[24]);
                }
                continue;
            }
            if (key != 0) {
                if (!skip(1, 3))
                    return false;
                continue;
            }
            std::uint64_t t = 0;
            if (!uint(t) || t > std::numeric_limits<std::uint32_t>::max())
                return false;
            r.timeout_ms = static_cast<std::uint32_t>(t);
        }
        return true;
    }

private:
    /// Takes `objects` decoded values from the budget: a body may not decode to more than a
    /// small multiple of its own size (issue 16: 8 MiB of nils cost 201 MB).
    bool spend(std::uint64_t objects) noexcept
    {
        if (objects > budget_) {
            over_budget_ = true;
            return false;
        }
        budget_ -= static_cast<std::size_t>(objects);
        return true;
    }

    template <class T>
    T* allocate(std::uint32_t n)
    {
        return static_cast<T*>(zone_.allocate_align(sizeof(T) * n, alignof(T)));
    }

    bool header_of(mt::object_type type, std::uint32_t& n)
    {
        msgpack::object o;
        if (!token(o) || o.type != type)
            return false;
        n = type == mt::ARRAY ? o.via.array.size : o.via.map.size;
        return true;
    }

    std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }

    template <class T>
    bool be(T& v)
    {
        if (left() < sizeof(T))
            return false;
        std::make_unsigned_t<T> u = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            u = static_cast<std::make_unsigned_t<T>>((u << 8) | p_[i]);
        p_ += sizeof(T);
        v = static_cast<T>(u);
        return true;
    }

    template <class T>
    bool be_length(std::uint32_t& n)
    {
        T v = 0;
        if (!be(v))
            return false;
        n = v;
        return true;
    }

    bool bytes(msgpack::object& o, mt::object_type type, std::uint32_t n)
    {
        if (left() < n)
            return false;
        o.type = type;
        const char* ptr = reinterpret_cast<const char*>(p_);
        if (type == mt::STR)
            o.via.str = {n, ptr};
        else
            o.via.bin = {n, ptr};
        p_ += n;
        return true;
    }

    bool ext(msgpack::object& o, std::uint32_t n)
    {
        // The type byte, then n bytes of data; via.ext.ptr points at the type byte.
        if (left() < std::size_t{n} + 1)
            return false;
        o.type = mt::EXT;
        o.via.ext.ptr = reinterpret_cast<const char*>(p_);
        o.via.ext.size = n;
        p_ += std::size_t{n} + 1;
        return true;
    }

    bool container(msgpack::object& o, mt::object_type type, std::uint32_t n)
    {
        // Each element takes at least one byte: a count beyond the bytes left is a lie.
        const std::uint64_t least = type == mt::MAP ? 2ull * n : n;
        if (least > left())
            return false;
        o.type = type;
        if (type == mt::ARRAY)
            o.via.array = {n, nullptr};
        else
            o.via.map = {n, nullptr};
        return true;
    }

    template <class T>
    bool integer(msgpack::object& o)
    {
        T v = 0;
        if (!be(v))
            return false;
        if constexpr (std::is_signed_v<T>) {
            if (v < 0) {
                o.type = mt::NEGATIVE_INTEGER;
                o.via.i64 = v;
                return true;
            }
        }
        o.type = mt::POSITIVE_INTEGER;
        o.via.u64 = static_cast<std::uint64_t>(v);
        return true;
    }

    /// One element's header: scalars whole, str/bin/ext with their bytes, arrays and maps
    /// with their count only (their elements follow).
    bool token(msgpack::object& o)
    {
        if (p_ == end_)
            return false;
        const unsigned char c = *p_++;
        if (c <= 0x7f) {
            o.type = mt::POSITIVE_INTEGER;
            o.via.u64 = c;
            return true;
        }
        if (c >= 0xe0) {
            o.type = mt::NEGATIVE_INTEGER;
            o.via.i64 = static_cast<std::int8_t>(c);
            return true;
        }
        if ((c & 0xe0) == 0xa0)
            return bytes(o, mt::STR, c & 0x1f);
        if ((c & 0xf0) == 0x90)
            return container(o, mt::ARRAY, c & 0x0f);
        if ((c & 0xf0) == 0x80)
            return container(o, mt::MAP, c & 0x0f);
        std::uint32_t n = 0;
        switch (c) {
        case 0xc0:
            o.type = mt::NIL;
            return true;
        case 0xc2:
        case 0xc3:
            o.type = mt::BOOLEAN;
            o.via.boolean = c == 0xc3;
            return true;
        case 0xc4: return be_length<std::uint8_t>(n) && bytes(o, mt::BIN, n);
        case 0xc5: return be_length<std::uint16_t>(n) && bytes(o, mt::BIN, n);
        case 0xc6: return be_length<std::uint32_t>(n) && bytes(o, mt::BIN, n);
        case 0xc7: return be_length<std::uint8_t>(n) && ext(o, n);
        case 0xc8: return be_length<std::uint16_t>(n) && ext(o, n);
        case 0xc9: return be_length<std::uint32_t>(n) && ext(o, n);
        case 0xca: {
            std::uint32_t bits = 0;
            if (!be(bits))
                return false;
            o.type = mt::FLOAT32;
            o.via.f64 = std::bit_cast<float>(bits);
            return true;
        }
        case 0xcb: {
            std::uint64_t bits = 0;
            if (!be(bits))
                return false;
            o.type = mt::FLOAT64;
            o.via.f64 = std::bit_cast<double>(bits);
            return true;
        }
        case 0xcc: return integer<std::uint8_t>(o);
        case 0xcd: return integer<std::uint16_t>(o);
        case 0xce: return integer<std::uint32_t>(o);
        case 0xcf: return integer<std::uint64_t>(o);
        case 0xd0: return integer<std::int8_t>(o);
        case 0xd1: return integer<std::int16_t>(o);
        case 0xd2: return integer<std::int32_t>(o);
        case 0xd3: return integer<std::int64_t>(o);
        case 0xd4: return ext(o, 1);
        case 0xd5: return ext(o, 2);
        case 0xd6: return ext(o, 4);
        case 0xd7: return ext(o, 8);
        case 0xd8: return ext(o, 16);
        case 0xd9: return be_length<std::uint8_t>(n) && bytes(o, mt::STR, n);
        case 0xda: return be_length<std::uint16_t>(n) && bytes(o, mt::STR, n);
        case 0xdb: return be_length<std::uint32_t>(n) && bytes(o, mt::STR, n);
        case 0xdc: return be_length<std::uint16_t>(n) && container(o, mt::ARRAY, n);
        case 0xdd: return be_length<std::uint32_t>(n) && container(o, mt::ARRAY, n);
        case 0xde: return be_length<std::uint16_t>(n) && container(o, mt::MAP, n);
        case 0xdf: return be_length<std::uint32_t>(n) && container(o, mt::MAP, n);
        default: return false; // 0xc1 is never used
        }
    }

    const unsigned char* p_;
    const unsigned char* end_;
    msgpack::zone& zone_;
    std::size_t budget_; // decoded objects this body may still cost
    bool over_budget_ = false;
};

bool decode_path(reader& in, method_path& p)
{
    return in.str(p.ns) && in.str(p.server_type) && in.str(p.service) && in.str(p.method);
}

// Arguments sit at level 2 (inside the root array); so do results and trailing fields.
constexpr std::size_t field_depth = 2;

bool decode_fields(reader& in, message& out)
{
    std::uint32_t n = 0;
    std::uint64_t kind = 0;
    if (!in.array(n) || n < 2 || !in.uint(kind) ||
        kind > static_cast<std::uint64_t>(message_kind::proof))
        return false;
    switch (static_cast<message_kind>(kind)) {
    case message_kind::request: {
        out.kind = message_kind::request;
        auto& r = out.request;
        r = {};
        msgpack::object args;
        if ((n != 7 && n != 8) || !in.uint(r.id) || r.id == 0 || !decode_path(in, r.path) ||
            !in.value(args, field_depth) || args.type != mt::ARRAY)
            return false;
        r.args = value_view(args);
        return n == 7 || in.meta(r);
    }
    case message_kind::notify: {
        out.kind = message_kind::notify;
        auto& r = out.request;
        r = {};
        msgpack::object args;
        if ((n != 6 && n != 7) || !decode_path(in, r.path) || !in.value(args, field_depth) ||
            args.type != mt::ARRAY)
            return false;
        r.args = value_view(args);
        return n == 6 || in.meta(r);
    }
    case message_kind::response: {
        out.kind = message_kind::response;
        auto& r = out.response;
        r = {};
        msgpack::object result;
        if (n != 5 || !in.uint(r.id) || !in.int32(r.code) || !in.str(r.message) ||
            !in.value(result, field_depth))
            return false;
        r.result = value_view(result);
        return true;
    }
    case message_kind::ping:
    case message_kind::pong:
        out.kind = static_cast<message_kind>(kind);
        return n == 2 && in.uint(out.nonce);
    case message_kind::hello: {
        out.kind = message_kind::hello;
        auto& h = out.hello;
        h = {};
        std::uint64_t v = 0;
        // Later versions may append fields; a hello must stay readable by older peers so that
        // they can answer version_mismatch instead of dropping the connection.
        if (n < 3 || !in.uint(v) || !in.str(h.peer_id))
            return false;
        // Version 2: an optional fourth element, the client's nonce (bin) when it
        // authenticates. Anything else there is no nonce: a hello must stay readable.
        if (n >= 4 && v >= 2) {
            msgpack::object nonce;
            if (!in.value(nonce, field_depth) || !in.skip(n - 4, field_depth))
                return false;
            if (nonce.type == mt::BIN)
                h.nonce = {nonce.via.bin.ptr, nonce.via.bin.size};
        } else if (!in.skip(n - 3, field_depth)) {
            return false;
        }
        h.version = static_cast<std::uint32_t>(v);
        return v <= std::numeric_limits<std::uint32_t>::max();
    }
    case message_kind::challenge: {
        out.kind = message_kind::challenge;
        auto& h = out.hello;
        h = {};
        return n >= 3 && in.str(h.peer_id) && in.bin(h.nonce) && in.skip(n - 3, field_depth);
    }
    case message_kind::proof: {
        out.kind = message_kind::proof;
        auto& h = out.hello;
        h = {};
        return in.bin(h.proof) && in.skip(n - 2, field_depth);
    }
    case message_kind::hello_ack: {
        out.kind = message_kind::hello_ack;
        auto& h = out.hello;
        h = {};
        std::uint64_t v = 0;
        if (n < 5 || !in.uint(v) || !in.str(h.peer_id) || !in.int32(h.code) ||
            !in.str(h.message))
            return false;
        // Version 2: an optional sixth element, the server's proof (bin) ending an
        // authenticated handshake, and a seventh, the server's epoch (uint). Elements of
        // another type there, and further elements, are ignored.
        if (n >= 6) {
            msgpack::object proof;
            if (!in.value(proof, field_depth))
                return false;
            if (proof.type == mt::BIN)
                h.proof = {proof.via.bin.ptr, proof.via.bin.size};
        }
        if (n >= 7) {
            msgpack::object epoch;
            if (!in.value(epoch, field_depth))
                return false;
            if (epoch.type == mt::POSITIVE_INTEGER)
                h.epoch = epoch.via.u64;
        }
        if (n > 7 && !in.skip(n - 7, field_depth))
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
    try {
        const std::size_t ratio =
            out.max_decode_ratio ? out.max_decode_ratio : decoded_bytes_per_byte;
        reader in(body, zone, ratio);
        if (!decode_fields(in, out) || !in.done())
            // Over a budget below one value per byte, a call may be valid and is still well
            // framed: it alone is refused. At one value per byte or more, every valid message
            // fits: over it, the body declared values it does not hold. A handshake or
            // keepalive message has no answer of its own: too large, it is a bad frame.
            return in.over_budget() && ratio < decoded_bytes_per_byte &&
                           (out.kind == message_kind::request ||
                            out.kind == message_kind::notify ||
                            out.kind == message_kind::response)
                       ? error::frame_too_large
                       : error::protocol_error;
        return {};
    } catch (...) {
        // Only the zone throws (out of memory): a frame we cannot hold is a bad frame.
        return error::protocol_error;
    }
}

bool patch_request_timeout(frame& f, std::uint32_t timeout_ms) noexcept
{
    auto b = f.mutable_body();
    const std::size_t n = b.size();
    // fixarray of 8, kind 1 (request), and the tail written by encode_request: {0: uint32},
    // or {1: bin8(25), 0: uint32} with a trace
    auto at = [&](std::size_t from_end) { return static_cast<unsigned char>(b[n - from_end]); };
    if (n < 9 || static_cast<unsigned char>(b[0]) != 0x98 || b[1] != 0x01 || at(6) != 0x00 ||
        at(5) != 0xce)
        return false;
    const bool plain = at(7) == 0x81;
    const bool traced = n >= 9 + 4 + 25 && at(35) == 0x82 && at(34) == 0x01 && at(33) == 0xc4 &&
                        at(32) == 25;
    if (!plain && !traced)
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
    const auto kind = peek_kind(body);
    if (kind != static_cast<std::uint8_t>(message_kind::ping) &&
        kind != static_cast<std::uint8_t>(message_kind::pong))
        return false;
    // A well-formed ping or pong allocates nothing from it.
    msgpack::zone zone(64);
    message m;
    if (decode(body, zone, m) || (m.kind != message_kind::ping && m.kind != message_kind::pong))
        return false;
    nonce = m.nonce;
    return true;
}

} // namespace mailroom::protocol
