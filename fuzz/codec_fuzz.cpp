// The native message codec (src/protocol/codec.cpp) on a body a peer sent: decode, through
// protocol::decode and through native_protocol()->decode and keepalive_of.
// Invariants: decode fails with protocol_error (under a server's tighter decode ratio, also
// frame_too_large, with the kind and a request's id decoded), or succeeds with every string
// and value inside the body; both entry points agree; keepalive_of calls a body a ping or pong only if
// decode does, with the same nonce; a decoded message re-encoded with the codec's encoders
// decodes again to the same fields (the ones the encoder carries: a hello is always written
// with this build's version, an error response with a nil result).
#include "fuzz_check.hpp"
#include "msgpack_equal.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <msgpack.hpp>

#include <iostream>

using namespace mailroom;
using mailroom::protocol::message;
using mailroom::protocol::message_kind;
using mailroom::fuzz::touch;

namespace {

void touch_object(const msgpack::object& o, std::span<const char> body)
{
    switch (o.type) {
    case msgpack::type::STR: touch({o.via.str.ptr, o.via.str.size}, body); break;
    case msgpack::type::BIN: touch({o.via.bin.ptr, o.via.bin.size}, body); break;
    case msgpack::type::EXT: touch({o.via.ext.ptr, std::size_t{o.via.ext.size} + 1}, body); break;
    case msgpack::type::ARRAY:
        for (std::uint32_t i = 0; i < o.via.array.size; ++i)
            touch_object(o.via.array.ptr[i], body);
        break;
    case msgpack::type::MAP:
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            touch_object(o.via.map.ptr[i].key, body);
            touch_object(o.via.map.ptr[i].val, body);
        }
        break;
    default: break;
    }
}

void touch_message(const message& m, std::span<const char> body)
{
    switch (m.kind) {
    case message_kind::request:
    case message_kind::notify:
        touch(m.request.path.ns, body);
        touch(m.request.path.server_type, body);
        touch(m.request.path.service, body);
        touch(m.request.path.method, body);
        MAILROOM_FUZZ_CHECK(m.request.args.is_array());
        touch_object(m.request.args.msgpack(), body);
        MAILROOM_FUZZ_CHECK(m.kind == message_kind::notify || m.request.id != 0);
        break;
    case message_kind::response:
        touch(m.response.message, body);
        touch_object(m.response.result.msgpack(), body);
        break;
    case message_kind::hello:
    case message_kind::hello_ack:
    case message_kind::challenge:
    case message_kind::proof:
        touch(m.hello.peer_id, body);
        touch(m.hello.message, body);
        touch(m.hello.nonce, body);
        touch(m.hello.proof, body);
        break;
    default: break;
    }
}

bool same_path(const protocol::method_path& a, const protocol::method_path& b)
{
    return a.ns == b.ns && a.server_type == b.server_type && a.service == b.service &&
           a.method == b.method;
}

/// Re-encodes `m` with the codec's encoders, decodes it again and compares.
void round_trip(const message& m)
{
    frame f;
    switch (m.kind) {
    case message_kind::request:
        protocol::encode_request(f, m.request.id, m.request.path, m.request.args.msgpack(),
                                 m.request.timeout_ms);
        break;
    case message_kind::notify:
        protocol::encode_notify(f, m.request.path, m.request.args.msgpack());
        break;
    case message_kind::response:
        if (m.response.code == 0)
            protocol::encode_response(f, m.response.id, m.response.result.msgpack());
        else
            protocol::encode_error_response(f, m.response.id,
                                            {m.response.code, mailroom::error_category()},
                                            m.response.message);
        break;
    case message_kind::ping: protocol::encode_ping(f, m.nonce); break;
    case message_kind::pong: protocol::encode_pong(f, m.nonce); break;
    case message_kind::hello:
    case message_kind::hello_ack:
    case message_kind::challenge:
    case message_kind::proof:
        protocol::encode_handshake(f, m.kind, m.hello);
        break;
    }
    msgpack::zone zone;
    message d;
    MAILROOM_FUZZ_CHECK(!protocol::decode(f.body(), zone, d));
    MAILROOM_FUZZ_CHECK(d.kind == m.kind);
    switch (m.kind) {
    case message_kind::request:
    case message_kind::notify:
        MAILROOM_FUZZ_CHECK(d.request.id == (m.kind == message_kind::request ? m.request.id : 0));
        MAILROOM_FUZZ_CHECK(same_path(d.request.path, m.request.path));
        if (!mailroom::fuzz::same(d.request.args.msgpack(), m.request.args.msgpack()))
            std::cerr << "decoded " << m.request.args.msgpack() << "\nagain   "
                      << d.request.args.msgpack() << "\n";
        MAILROOM_FUZZ_CHECK(mailroom::fuzz::same(d.request.args.msgpack(), m.request.args.msgpack()));
        // A notify carries no timeout in its encoder.
        MAILROOM_FUZZ_CHECK(d.request.timeout_ms ==
                            (m.kind == message_kind::request ? m.request.timeout_ms : 0));
        break;
    case message_kind::response:
        MAILROOM_FUZZ_CHECK(d.response.id == m.response.id && d.response.code == m.response.code);
        if (m.response.code == 0)
            MAILROOM_FUZZ_CHECK(mailroom::fuzz::same(d.response.result.msgpack(),
                                                     m.response.result.msgpack()));
        else
            MAILROOM_FUZZ_CHECK(d.response.message == m.response.message &&
                                d.response.result.is_nil());
        break;
    case message_kind::ping:
    case message_kind::pong: {
        MAILROOM_FUZZ_CHECK(d.nonce == m.nonce);
        // What the encoder writes, a link recognises without decoding.
        std::uint64_t nonce = 0;
        const auto k = native_protocol()->keepalive_of(f.body(), nonce);
        MAILROOM_FUZZ_CHECK(k == (m.kind == message_kind::ping ? wire_protocol::keepalive::ping
                                                                : wire_protocol::keepalive::pong));
        MAILROOM_FUZZ_CHECK(nonce == m.nonce);
        break;
    }
    case message_kind::hello:
    case message_kind::hello_ack:
    case message_kind::challenge:
    case message_kind::proof:
        MAILROOM_FUZZ_CHECK(d.hello.peer_id == m.hello.peer_id && d.hello.code == m.hello.code &&
                            d.hello.message == m.hello.message &&
                            d.hello.nonce == m.hello.nonce && d.hello.proof == m.hello.proof);
        MAILROOM_FUZZ_CHECK(d.hello.version == m.hello.version);
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const char> body(reinterpret_cast<const char*>(data), size);

    msgpack::zone zone;
    message m;
    const auto ec = protocol::decode(body, zone, m);
    MAILROOM_FUZZ_CHECK(!ec || ec == error::protocol_error);

    msgpack::zone zone2;
    message m2;
    const auto ec2 = native_protocol()->decode(body, zone2, m2);
    MAILROOM_FUZZ_CHECK(ec == ec2);
    if (!ec)
        MAILROOM_FUZZ_CHECK(m2.kind == m.kind);

    // A server's tighter budget: the same outcome, or frame_too_large once the budget runs
    // out (before any later malformation), with the message's kind decoded, and a request's
    // id, which the server answers.
    msgpack::zone zone3;
    message m3;
    m3.max_decode_ratio = 8;
    const auto ec3 = protocol::decode(body, zone3, m3);
    MAILROOM_FUZZ_CHECK(ec3 == ec || ec3 == error::frame_too_large);
    if (ec3 == error::frame_too_large && ec3 != ec) {
        MAILROOM_FUZZ_CHECK(m3.kind == message_kind::request || m3.kind == message_kind::notify ||
                            m3.kind == message_kind::response);
        if (m3.kind == message_kind::request)
            MAILROOM_FUZZ_CHECK(m3.request.id != 0 && (ec || m3.request.id == m.request.id));
    }

    std::uint64_t nonce = 0;
    const auto k = native_protocol()->keepalive_of(body, nonce);
    if (k != wire_protocol::keepalive::none) {
        MAILROOM_FUZZ_CHECK(!ec);
        MAILROOM_FUZZ_CHECK(m.kind == (k == wire_protocol::keepalive::ping ? message_kind::ping
                                                                            : message_kind::pong));
        MAILROOM_FUZZ_CHECK(nonce == m.nonce);
    }
    std::uint64_t n2 = 0;
    MAILROOM_FUZZ_CHECK(protocol::decode_keepalive(body, n2) == (k != wire_protocol::keepalive::none));

    if (ec)
        return 0;
    touch_message(m, body);
    round_trip(m);
    return 0;
}
