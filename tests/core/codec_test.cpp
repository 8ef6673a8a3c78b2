#include <mailroom/protocol/codec.hpp>
// Test that header file is self-contained.

#include <mailroom/error.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <cstdint>
#include <limits>
#include <malloc.h>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace protocol = mailroom::protocol;
using mailroom::error;
using mailroom::frame;
using protocol::message_kind;

using bytes = std::vector<char>;

bytes body_of(const frame& f)
{
    return {f.body().begin(), f.body().end()};
}

/// "95 03 01" -> {0x95, 0x03, 0x01}.
bytes from_hex(std::string_view hex)
{
    bytes out;
    auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i < hex.size();) {
        if (hex[i] == ' ') {
            ++i;
            continue;
        }
        out.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
        i += 2;
    }
    return out;
}

bytes with_text(bytes prefix, std::string_view text, std::string_view suffix_hex = {})
{
    prefix.insert(prefix.end(), text.begin(), text.end());
    const bytes suffix = from_hex(suffix_hex);
    prefix.insert(prefix.end(), suffix.begin(), suffix.end());
    return prefix;
}

/// Packs a message by hand, for input the encoders never produce.
template <class Fn> bytes packed(Fn fn)
{
    frame f;
    protocol::packer pk(f);
    fn(pk);
    return body_of(f);
}

/// One decode: the message views point into `zone` and into the decoded bytes.
struct decoded
{
    msgpack::zone zone;
    protocol::message msg;
};

std::error_code decode(std::span<const char> body, decoded& d)
{
    return protocol::decode(body, d.zone, d.msg);
}

const protocol::method_path chat_join{
    .ns = "user", .server_type = "chat", .service = "room", .method = "join"};

bytes valid_request()
{
    frame f;
    protocol::encode_request(f, 42, chat_join,
                             std::make_tuple(1, std::string("two"), std::vector<int>{3, 4}), 1500);
    return body_of(f);
}

static_assert(noexcept(protocol::decode(std::span<const char>{}, std::declval<msgpack::zone&>(),
                                        std::declval<protocol::message&>())));

// --- round trips ---------------------------------------------------------------------------

TEST(Codec, RoundTripsARequestWithoutTimeout)
{
    frame f;
    protocol::encode_request(f, 7, chat_join, std::make_tuple(1, std::string("two")));
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::request);
    const auto& r = d.msg.request;
    EXPECT_EQ(r.id, 7u);
    EXPECT_EQ(r.path.ns, "user");
    EXPECT_EQ(r.path.server_type, "chat");
    EXPECT_EQ(r.path.service, "room");
    EXPECT_EQ(r.path.method, "join");
    EXPECT_EQ(r.timeout_ms, 0u);
    ASSERT_EQ(r.args.msgpack().type, msgpack::type::ARRAY);
    EXPECT_EQ((r.args.msgpack().as<std::tuple<int, std::string>>()), std::make_tuple(1, std::string("two")));
}

TEST(Codec, RoundTripsARequestWithTimeoutMetadata)
{
    frame f;
    protocol::encode_request(f, std::numeric_limits<std::uint64_t>::max(), chat_join,
                             std::vector<int>{5, 6, 7}, 30'000);
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::request);
    EXPECT_EQ(d.msg.request.id, std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(d.msg.request.timeout_ms, 30'000u);
    EXPECT_EQ(d.msg.request.args.msgpack().as<std::vector<int>>(), (std::vector<int>{5, 6, 7}));
}

TEST(Codec, RoundTripsARequestWithNoArguments)
{
    frame f;
    protocol::encode_request(f, 1, chat_join, std::tuple<>{});
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    ASSERT_EQ(d.msg.request.args.msgpack().type, msgpack::type::ARRAY);
    EXPECT_EQ(d.msg.request.args.msgpack().via.array.size, 0u);
}

TEST(Codec, RoundTripsANotify)
{
    frame f;
    const protocol::method_path path{
        .ns = "sys", .server_type = "", .service = "watchdog", .method = "tick"};
    protocol::encode_notify(f, path, std::make_tuple(std::string("x")));
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::notify);
    EXPECT_EQ(d.msg.request.id, 0u);
    EXPECT_EQ(d.msg.request.path.ns, "sys");
    EXPECT_EQ(d.msg.request.path.server_type, "");
    EXPECT_EQ(d.msg.request.path.service, "watchdog");
    EXPECT_EQ(d.msg.request.path.method, "tick");
    EXPECT_EQ(d.msg.request.timeout_ms, 0u);
    EXPECT_EQ(d.msg.request.args.msgpack().as<std::tuple<std::string>>(), std::make_tuple(std::string("x")));
}

TEST(Codec, RoundTripsAResponseWithAResult)
{
    frame f;
    protocol::encode_response(f, 99, std::vector<std::string>{"a", "b"});
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::response);
    EXPECT_EQ(d.msg.response.id, 99u);
    EXPECT_EQ(d.msg.response.code, 0);
    EXPECT_EQ(d.msg.response.message, "");
    EXPECT_EQ(d.msg.response.result.msgpack().as<std::vector<std::string>>(),
              (std::vector<std::string>{"a", "b"}));
}

TEST(Codec, RoundTripsAVoidResponseAsNil)
{
    frame f;
    protocol::encode_void_response(f, 3);
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::response);
    EXPECT_EQ(d.msg.response.id, 3u);
    EXPECT_EQ(d.msg.response.code, 0);
    EXPECT_EQ(d.msg.response.message, "");
    EXPECT_EQ(d.msg.response.result.msgpack().type, msgpack::type::NIL);
}

TEST(Codec, RoundTripsAnErrorResponse)
{
    frame f;
    protocol::encode_error_response(f, 11, error::unknown_method, "no such method");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::response);
    EXPECT_EQ(d.msg.response.id, 11u);
    EXPECT_EQ(d.msg.response.code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(d.msg.response.message, "no such method");
    EXPECT_EQ(d.msg.response.result.msgpack().type, msgpack::type::NIL);
}

TEST(Codec, RoundTripsANegativeErrorCodeOfAnotherCategory)
{
    frame f;
    protocol::encode_error_response(f, 1, std::error_code(-3, std::generic_category()), "neg");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.response.code, -3);
    EXPECT_EQ(d.msg.response.message, "neg");
}

TEST(Codec, RoundTripsPingAndPong)
{
    const std::uint64_t nonce = 0xDEADBEEFCAFEBABEull;
    frame ping, pong;
    protocol::encode_ping(ping, nonce);
    protocol::encode_pong(pong, 1);
    decoded d;
    ASSERT_FALSE(decode(ping.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::ping);
    EXPECT_EQ(d.msg.nonce, nonce);
    decoded e;
    ASSERT_FALSE(decode(pong.body(), e));
    EXPECT_EQ(e.msg.kind, message_kind::pong);
    EXPECT_EQ(e.msg.nonce, 1u);
}

TEST(Codec, RoundTripsAHello)
{
    frame f;
    protocol::encode_hello(f, "connector-1");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::hello);
    // A hello without authentication is a version-1 hello, byte for byte as before version 2.
    EXPECT_EQ(d.msg.hello.version, protocol::min_version);
    EXPECT_EQ(d.msg.hello.peer_id, "connector-1");
    EXPECT_EQ(d.msg.hello.code, 0);
}

TEST(Codec, RoundTripsAHelloWithAnEmptyPeerId)
{
    frame f;
    protocol::encode_hello(f, "");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::hello);
    EXPECT_EQ(d.msg.hello.peer_id, "");
}

TEST(Codec, RoundTripsAnAcceptingHelloAck)
{
    frame f;
    protocol::encode_hello_ack(f, "chat-1");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::hello_ack);
    EXPECT_EQ(d.msg.hello.version, protocol::min_version);
    EXPECT_EQ(d.msg.hello.peer_id, "chat-1");
    EXPECT_EQ(d.msg.hello.code, 0);
    EXPECT_EQ(d.msg.hello.message, "");
}

TEST(Codec, RoundTripsARefusingHelloAck)
{
    frame f;
    protocol::encode_hello_ack(f, "chat-1", error::version_mismatch, "speak version 1");
    decoded d;
    ASSERT_FALSE(decode(f.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::hello_ack);
    EXPECT_EQ(d.msg.hello.code, static_cast<int>(error::version_mismatch));
    EXPECT_EQ(d.msg.hello.message, "speak version 1");
}

// --- version 2: the authenticated handshake (docs/protocol.md, section 4) -------------------

TEST(Codec, TheAuthenticatedHandshakeHasTheDocumentedBytes)
{
    const std::string n(32, '\x5a');
    const auto z = [&](bytes b) {
        b.insert(b.end(), n.begin(), n.end());
        return b;
    };
    frame hello, challenge, proof, ack;
    protocol::encode_handshake(hello, message_kind::hello,
                               {.version = 2, .peer_id = "connector-1", .nonce = n});
    protocol::encode_handshake(challenge, message_kind::challenge, {.peer_id = "chat-1", .nonce = n});
    protocol::encode_handshake(proof, message_kind::proof, {.proof = n});
    protocol::encode_handshake(ack, message_kind::hello_ack,
                               {.version = 2, .peer_id = "chat-1", .proof = n});
    EXPECT_EQ(body_of(hello), z(with_text(from_hex("94 06 02 ab"), "connector-1", "c4 20")));
    EXPECT_EQ(body_of(challenge), z(with_text(from_hex("93 08 a6"), "chat-1", "c4 20")));
    EXPECT_EQ(body_of(proof), z(from_hex("92 09 c4 20")));
    EXPECT_EQ(body_of(ack), z(with_text(from_hex("96 07 02 a6"), "chat-1", "00 a0 c4 20")));

    decoded d;
    ASSERT_FALSE(decode(hello.body(), d));
    EXPECT_EQ(d.msg.hello.version, 2u);
    EXPECT_EQ(d.msg.hello.nonce, n);
    ASSERT_FALSE(decode(challenge.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::challenge);
    EXPECT_EQ(d.msg.hello.peer_id, "chat-1");
    EXPECT_EQ(d.msg.hello.nonce, n);
    ASSERT_FALSE(decode(proof.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::proof);
    EXPECT_EQ(d.msg.hello.proof, n);
    ASSERT_FALSE(decode(ack.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::hello_ack);
    EXPECT_EQ(d.msg.hello.code, 0);
    EXPECT_EQ(d.msg.hello.proof, n);
}

TEST(Codec, AHelloAckCarriesTheServersEpochAfterTheProofOrANil)
{
    const std::string n(32, '\x5a');
    frame plain, proven;
    protocol::encode_handshake(plain, message_kind::hello_ack,
                               {.version = 2, .peer_id = "chat-1", .epoch = 300});
    protocol::encode_handshake(proven, message_kind::hello_ack,
                               {.version = 2, .peer_id = "chat-1", .proof = n, .epoch = 5});
    EXPECT_EQ(body_of(plain), with_text(from_hex("97 07 02 a6"), "chat-1", "00 a0 c0 cd 01 2c"));
    decoded d;
    ASSERT_FALSE(decode(plain.body(), d));
    EXPECT_EQ(d.msg.hello.epoch, 300u);
    EXPECT_TRUE(d.msg.hello.proof.empty()) << "the nil is no proof";
    ASSERT_FALSE(decode(proven.body(), d));
    EXPECT_EQ(d.msg.hello.epoch, 5u);
    EXPECT_EQ(d.msg.hello.proof, n);
    // Without an epoch the ack is what it was (a peer that predates epochs reads it as ever).
    frame none;
    protocol::encode_handshake(none, message_kind::hello_ack, {.version = 2, .peer_id = "chat-1"});
    EXPECT_EQ(body_of(none), with_text(from_hex("95 07 02 a6"), "chat-1", "00 a0"));
    ASSERT_FALSE(decode(none.body(), d));
    EXPECT_EQ(d.msg.hello.epoch, 0u);
}

TEST(Codec, AVersion1HelloIgnoresTrailingFieldsAndAVersion2HelloMayOmitItsNonce)
{
    decoded d;
    ASSERT_FALSE(decode(packed([](protocol::packer& pk) {
                            pk.pack_array(4);
                            pk.pack(6);
                            pk.pack(1);
                            pk.pack(std::string_view("old"));
                            pk.pack(std::string_view("a later field"));
                        }),
                        d));
    EXPECT_TRUE(d.msg.hello.nonce.empty());
    ASSERT_FALSE(decode(packed([](protocol::packer& pk) {
                            pk.pack_array(4);
                            pk.pack(6);
                            pk.pack(2);
                            pk.pack(std::string_view("new"));
                            pk.pack_nil();
                        }),
                        d));
    EXPECT_TRUE(d.msg.hello.nonce.empty()) << "nil: no authentication offered";
}

TEST(Codec, DecodedStringsPointIntoTheBody)
{
    const bytes body = valid_request();
    decoded d;
    ASSERT_FALSE(decode(body, d));
    const char* begin = body.data();
    const char* end = body.data() + body.size();
    for (std::string_view s : {d.msg.request.path.ns, d.msg.request.path.method}) {
        EXPECT_GE(s.data(), begin);
        EXPECT_LE(s.data() + s.size(), end);
    }
}

TEST(Codec, ReusedMessageShowsOnlyTheLatestDecode)
{
    decoded d;
    frame req;
    protocol::encode_request(req, 5, chat_join, std::make_tuple(1), 100);
    ASSERT_FALSE(decode(req.body(), d));
    frame notify;
    protocol::encode_notify(notify, chat_join, std::make_tuple(2));
    ASSERT_FALSE(decode(notify.body(), d));
    EXPECT_EQ(d.msg.kind, message_kind::notify);
    EXPECT_EQ(d.msg.request.id, 0u);
    EXPECT_EQ(d.msg.request.timeout_ms, 0u);
}

// --- exact bytes (docs/protocol.md section 5) ----------------------------------------------

TEST(Codec, EncodesTheWorkedExampleRequestByteForByte)
{
    frame f;
    protocol::encode_request(
        f, 1, {.ns = "user", .server_type = "chat", .service = "chatRemote", .method = "add"},
        std::make_tuple(2, 3), 30'000);
    EXPECT_EQ(body_of(f), from_hex("98 01 01 a4 75 73 65 72 a4 63 68 61 74"
                                   " aa 63 68 61 74 52 65 6d 6f 74 65 a3 61 64 64"
                                   " 92 02 03 81 00 ce 00 00 75 30"));
    const auto wire = f.wire();
    EXPECT_EQ(bytes(wire.begin(), wire.begin() + 4), from_hex("00 00 00 26"));
}

TEST(Codec, EncodesTheWorkedExampleResponsesByteForByte)
{
    frame ok;
    protocol::encode_response(ok, 1, 5);
    EXPECT_EQ(body_of(ok), from_hex("95 03 01 00 a0 05"));

    const std::string_view text = "unknown method: user.chatRemote.add";
    frame err;
    protocol::encode_error_response(err, 1, error::unknown_method, text);
    EXPECT_EQ(body_of(err), with_text(from_hex("95 03 01 08 d9 23"), text, "c0"));
    EXPECT_EQ(err.body_size(), 42u);
}

TEST(Codec, EncodesTheWorkedExampleHandshakeAndPingByteForByte)
{
    frame hello, ack, ping, pong;
    protocol::encode_hello(hello, "connector-1");
    protocol::encode_hello_ack(ack, "chat-1");
    protocol::encode_ping(ping, 1);
    protocol::encode_pong(pong, 1);
    EXPECT_EQ(body_of(hello), with_text(from_hex("93 06 01 ab"), "connector-1"));
    EXPECT_EQ(body_of(ack), with_text(from_hex("95 07 01 a6"), "chat-1", "00 a0"));
    EXPECT_EQ(body_of(ping), from_hex("92 04 01"));
    EXPECT_EQ(body_of(pong), from_hex("92 05 01"));
}

// --- tolerated variations ------------------------------------------------------------------

TEST(Codec, IgnoresUnknownMetadataKeys)
{
    const bytes b = packed([](protocol::packer& pk) {
        pk.pack_array(8);
        pk.pack(1);
        pk.pack(9);
        pk.pack("user");
        pk.pack("chat");
        pk.pack("room");
        pk.pack("join");
        pk.pack_array(0);
        pk.pack_map(2);
        pk.pack(7);
        pk.pack("future field");
        pk.pack(0);
        pk.pack(250);
    });
    decoded d;
    ASSERT_FALSE(decode(b, d));
    EXPECT_EQ(d.msg.request.id, 9u);
    EXPECT_EQ(d.msg.request.timeout_ms, 250u);
}

TEST(Codec, AcceptsANotifyWithTimeoutMetadata)
{
    const bytes b = packed([](protocol::packer& pk) {
        pk.pack_array(7);
        pk.pack(2);
        pk.pack("user");
        pk.pack("chat");
        pk.pack("room");
        pk.pack("join");
        pk.pack_array(0);
        pk.pack_map(1);
        pk.pack(0);
        pk.pack(10);
    });
    decoded d;
    ASSERT_FALSE(decode(b, d));
    EXPECT_EQ(d.msg.kind, message_kind::notify);
    EXPECT_EQ(d.msg.request.timeout_ms, 10u);
}

TEST(Codec, AcceptsIntegersWrittenWiderThanNeeded)
{
    // [1 as uint64, id 5 as uint32, ...]: any msgpack width is allowed.
    const bytes b = packed([](protocol::packer& pk) {
        pk.pack_array(7);
        pk.pack_fix_uint64(1);
        pk.pack_fix_uint32(5);
        pk.pack("user");
        pk.pack("chat");
        pk.pack("room");
        pk.pack("join");
        pk.pack_array(0);
    });
    decoded d;
    ASSERT_FALSE(decode(b, d));
    EXPECT_EQ(d.msg.kind, message_kind::request);
    EXPECT_EQ(d.msg.request.id, 5u);
}

TEST(Codec, IgnoresTrailingElementsOfHelloAndHelloAck)
{
    const bytes hello = packed([](protocol::packer& pk) {
        pk.pack_array(4);
        pk.pack(6);
        pk.pack(2);
        pk.pack("gate-1");
        pk.pack("feature flags of a later version");
    });
    decoded d;
    ASSERT_FALSE(decode(hello, d));
    EXPECT_EQ(d.msg.kind, message_kind::hello);
    EXPECT_EQ(d.msg.hello.version, 2u);
    EXPECT_EQ(d.msg.hello.peer_id, "gate-1");

    const bytes ack = packed([](protocol::packer& pk) {
        pk.pack_array(6);
        pk.pack(7);
        pk.pack(1);
        pk.pack("chat-1");
        pk.pack(0);
        pk.pack("");
        pk.pack_map(0);
    });
    decoded e;
    ASSERT_FALSE(decode(ack, e));
    EXPECT_EQ(e.msg.kind, message_kind::hello_ack);
}

TEST(Codec, AcceptsNestingUpToTheLimit)
{
    // The root array is level 1 and args level 2; args nest down to level max_nesting.
    auto request_nested = [](std::size_t depth) {
        return packed([depth](protocol::packer& pk) {
            pk.pack_array(7);
            pk.pack(1);
            pk.pack(1);
            pk.pack("user");
            pk.pack("chat");
            pk.pack("room");
            pk.pack("join");
            for (std::size_t level = 2; level < depth; ++level)
                pk.pack_array(1);
            pk.pack_array(0);
        });
    };
    decoded ok;
    EXPECT_FALSE(decode(request_nested(protocol::max_nesting), ok));
    decoded too_deep;
    EXPECT_EQ(decode(request_nested(protocol::max_nesting + 1), too_deep), error::protocol_error);
}

// --- malformed input -----------------------------------------------------------------------

void expect_protocol_error(const bytes& b, const char* what)
{
    decoded d;
    EXPECT_EQ(decode(b, d), error::protocol_error) << what;
}

TEST(Codec, RejectsAnEmptyBody)
{
    expect_protocol_error({}, "empty");
}

TEST(Codec, RejectsEveryTruncationOfAValidRequest)
{
    const bytes full = valid_request();
    {
        decoded d;
        ASSERT_FALSE(decode(full, d));
    }
    for (std::size_t n = 0; n < full.size(); ++n) {
        decoded d;
        EXPECT_EQ(decode(std::span<const char>(full.data(), n), d), error::protocol_error)
            << "prefix of " << n << " bytes";
    }
}

TEST(Codec, RejectsATrailingByte)
{
    bytes b = valid_request();
    b.push_back('\x00');
    expect_protocol_error(b, "one trailing byte");
    frame ping;
    protocol::encode_ping(ping, 1);
    bytes two = body_of(ping);
    two.insert(two.end(), two.begin(), two.end());
    expect_protocol_error(two, "two pings in one body");
}

TEST(Codec, RejectsATopLevelValueThatIsNotAnArray)
{
    expect_protocol_error(from_hex("80"), "empty map");
    expect_protocol_error(from_hex("81 00 01"), "map");
    expect_protocol_error(from_hex("01"), "int");
    expect_protocol_error(from_hex("c0"), "nil");
    expect_protocol_error(from_hex("a3 61 62 63"), "string");
    expect_protocol_error(from_hex("90"), "empty array");
    expect_protocol_error(from_hex("91 04"), "array of one");
}

TEST(Codec, RejectsMalformedAuthenticationMessages)
{
    expect_protocol_error(from_hex("93 08 a0 a1 78"), "a challenge nonce as str");
    expect_protocol_error(from_hex("92 08 a0"), "a challenge without a nonce");
    expect_protocol_error(from_hex("92 09 a1 78"), "a proof as str");
    expect_protocol_error(from_hex("91 09"), "a proof without its proof");
}

TEST(Codec, RejectsUnknownKinds)
{
    expect_protocol_error(from_hex("92 00 01"), "kind 0");
    expect_protocol_error(from_hex("92 0a 01"), "kind 10"); // 8 and 9 are version 2's
    expect_protocol_error(from_hex("92 7f 01"), "kind 127");
    expect_protocol_error(from_hex("92 cc ff 01"), "kind 255");
    expect_protocol_error(from_hex("92 ff 01"), "kind -1");
    expect_protocol_error(from_hex("92 a1 04 01"), "kind as string");
}

// BUG (src/protocol/codec.cpp, decode_fields): the kind is read as a uint64 and then
// static_cast to message_kind, whose underlying type is uint8_t, so it is reduced modulo 256
// before the switch. Kind 257 decodes as a request and kind 260 as a ping, although
// docs/protocol.md lists only kinds 1-7 and calls any other kind malformed.
TEST(Codec, RejectsKindsThatAreValidOnlyModulo256)
{
    const bytes kind_257_request = packed([](protocol::packer& pk) {
        pk.pack_array(7);
        pk.pack_uint16(257);
        pk.pack(1);
        pk.pack("user");
        pk.pack("chat");
        pk.pack("room");
        pk.pack("join");
        pk.pack_array(0);
    });
    expect_protocol_error(kind_257_request, "kind 257 (1 + 256)");
    const bytes kind_260_ping = packed([](protocol::packer& pk) {
        pk.pack_array(2);
        pk.pack_uint16(260);
        pk.pack(1);
    });
    expect_protocol_error(kind_260_ping, "kind 260 (4 + 256)");
    std::uint64_t nonce = 0;
    EXPECT_FALSE(protocol::decode_keepalive(kind_260_ping, nonce));
}

/// A request of `elements` (7, or 8 with metadata) whose element `index` is replaced by what
/// `fn` packs.
template <class Fn> bytes request_with(std::size_t elements, std::size_t index, Fn fn)
{
    return packed([&](protocol::packer& pk) {
        pk.pack_array(static_cast<std::uint32_t>(elements));
        const auto put = [&](std::size_t i, auto&& normal) {
            if (i == index)
                fn(pk);
            else
                normal();
        };
        put(0, [&] { pk.pack(1); });
        put(1, [&] { pk.pack(5); });
        put(2, [&] { pk.pack("user"); });
        put(3, [&] { pk.pack("chat"); });
        put(4, [&] { pk.pack("room"); });
        put(5, [&] { pk.pack("join"); });
        put(6, [&] { pk.pack_array(0); });
        if (elements > 7)
            put(7, [&] {
                pk.pack_map(1);
                pk.pack(0);
                pk.pack(100);
            });
    });
}

/// A request of 7 elements with element `index` replaced.
template <class Fn> bytes request_with(std::size_t index, Fn fn)
{
    return request_with(7, index, fn);
}

/// A request of `elements` with nothing replaced.
bytes request_of(std::size_t elements)
{
    return request_with(elements, elements, [](protocol::packer&) {});
}

/// A request whose metadata map is what `fn` packs.
template <class Fn> bytes request_with_meta(Fn fn)
{
    return request_with(8, 7, fn);
}

TEST(Codec, TheRequestBuilderMakesAValidRequest)
{
    decoded d;
    ASSERT_FALSE(decode(request_of(7), d));
    decoded e;
    ASSERT_FALSE(decode(request_of(8), e));
    EXPECT_EQ(e.msg.request.timeout_ms, 100u);
}

TEST(Codec, RejectsRequestElementsOfTheWrongType)
{
    expect_protocol_error(request_with(1, [](protocol::packer& pk) { pk.pack("5"); }),
                          "id as string");
    expect_protocol_error(request_with(1, [](protocol::packer& pk) { pk.pack(-5); }),
                          "negative id");
    expect_protocol_error(request_with(1, [](protocol::packer& pk) { pk.pack(5.5); }),
                          "id as float");
    expect_protocol_error(request_with(2, [](protocol::packer& pk) { pk.pack_nil(); }),
                          "ns as nil");
    expect_protocol_error(request_with(3, [](protocol::packer& pk) { pk.pack(3); }),
                          "server type as int");
    expect_protocol_error(request_with(4, [](protocol::packer& pk) { pk.pack_array(0); }),
                          "service as array");
    expect_protocol_error(request_with(5, [](protocol::packer& pk) { pk.pack(3); }),
                          "method as int");
    expect_protocol_error(request_with(5,
                                       [](protocol::packer& pk) {
                                           pk.pack_bin(4);
                                           pk.pack_bin_body("join", 4);
                                       }),
                          "method as bin");
    expect_protocol_error(request_with(6, [](protocol::packer& pk) { pk.pack(3); }), "args as int");
    expect_protocol_error(request_with(6, [](protocol::packer& pk) { pk.pack_map(0); }),
                          "args as map");
    expect_protocol_error(request_with(6, [](protocol::packer& pk) { pk.pack_nil(); }),
                          "args as nil");
}

TEST(Codec, RejectsARequestWithIdZero)
{
    expect_protocol_error(request_with(1, [](protocol::packer& pk) { pk.pack(0); }), "id 0");
    frame f;
    protocol::encode_request(f, 0, chat_join, std::make_tuple(1));
    expect_protocol_error(body_of(f), "encoded with id 0");
}

TEST(Codec, RejectsMalformedRequestMetadata)
{
    expect_protocol_error(request_with_meta([](protocol::packer& pk) { pk.pack_array(0); }),
                          "meta as array");
    expect_protocol_error(request_with_meta([](protocol::packer& pk) {
                              pk.pack_map(1);
                              pk.pack("timeout");
                              pk.pack(1);
                          }),
                          "string key");
    expect_protocol_error(request_with_meta([](protocol::packer& pk) {
                              pk.pack_map(1);
                              pk.pack(-1);
                              pk.pack(1);
                          }),
                          "negative key");
    expect_protocol_error(request_with_meta([](protocol::packer& pk) {
                              pk.pack_map(1);
                              pk.pack(0);
                              pk.pack(std::uint64_t{1} << 32);
                          }),
                          "timeout above uint32");
    expect_protocol_error(request_with_meta([](protocol::packer& pk) {
                              pk.pack_map(1);
                              pk.pack(0);
                              pk.pack("100");
                          }),
                          "timeout as string");
}

TEST(Codec, RejectsMessagesWithTheWrongElementCount)
{
    expect_protocol_error(request_of(6), "request of 6");
    expect_protocol_error(packed([](protocol::packer& pk) {
                              pk.pack_array(9);
                              for (int i = 0; i < 9; ++i)
                                  i == 0 ? pk.pack(1) : pk.pack_array(0);
                          }),
                          "request of 9");
    expect_protocol_error(from_hex("93 04 01 01"), "ping of 3");
    expect_protocol_error(from_hex("91 05"), "pong of 1");
    expect_protocol_error(from_hex("94 03 01 00 a0"), "response of 4");
    expect_protocol_error(from_hex("96 03 01 00 a0 c0 c0"), "response of 6");
    expect_protocol_error(from_hex("92 06 01"), "hello of 2");
    expect_protocol_error(from_hex("94 07 01 a0 00"), "hello_ack of 4");
    expect_protocol_error(from_hex("95 02 a0 a0 a0 a0"), "notify of 5");
}

TEST(Codec, RejectsOtherMessagesWithWrongElementTypes)
{
    expect_protocol_error(from_hex("92 04 a1 31"), "nonce as string");
    expect_protocol_error(from_hex("92 05 ff"), "negative nonce");
    expect_protocol_error(from_hex("95 03 a1 31 00 a0 c0"), "response id as string");
    expect_protocol_error(from_hex("95 03 01 a1 31 a0 c0"), "response code as string");
    expect_protocol_error(from_hex("95 03 01 00 00 c0"), "response message as int");
    expect_protocol_error(from_hex("95 03 01 ce 80 00 00 00 a0 c0"), "code above INT_MAX");
    expect_protocol_error(from_hex("93 06 a1 31 a0"), "hello version as string");
    expect_protocol_error(from_hex("93 06 cf 00 00 00 01 00 00 00 00 a0"),
                          "hello version above uint32");
    expect_protocol_error(from_hex("93 06 01 c0"), "hello peer id as nil");
    expect_protocol_error(from_hex("95 07 01 a0 a0 a0"), "hello_ack code as string");
    expect_protocol_error(from_hex("95 07 01 a0 00 00"), "hello_ack message as int");
}

TEST(Codec, RejectsHugeDeclaredCountsInASmallBody)
{
    // Each body is 5 bytes and announces 2^32-1 elements or bytes; an honest body cannot.
    expect_protocol_error(from_hex("dd ff ff ff ff"), "array32");
    expect_protocol_error(from_hex("df ff ff ff ff"), "map32");
    expect_protocol_error(from_hex("db ff ff ff ff"), "str32");
    expect_protocol_error(from_hex("c6 ff ff ff ff"), "bin32");
    expect_protocol_error(from_hex("92 01 dd ff ff ff ff"), "array32 inside a message");
    // Nested declarations, each within the body size on its own, still fail cleanly.
    bytes nested;
    for (int i = 0; i < 30; ++i) {
        const bytes h = from_hex("dc 00 c8"); // array16 of 200
        nested.insert(nested.end(), h.begin(), h.end());
    }
    nested.resize(nested.size() + 200, '\0');
    expect_protocol_error(nested, "nested array16 headers");
}

TEST(Codec, DoesNotAllocateForACountTheBodyCannotHold)
{
    // 2^20 elements would take 24 MiB of msgpack objects from the zone; the declared count
    // is refused before that. The zone stays alive, so its chunks would still be counted.
    msgpack::zone zone;
    protocol::message msg;
    const bytes body = from_hex("dd 00 10 00 00");
    const struct mallinfo2 before = mallinfo2();
    EXPECT_EQ(protocol::decode(body, zone, msg), error::protocol_error);
    const struct mallinfo2 after = mallinfo2();
    const auto in_use = [](const struct mallinfo2& m) { return m.uordblks + m.hblkhd; };
    EXPECT_LT(in_use(after), in_use(before) + (1u << 20));
}

/// A request body whose only argument is an array of `n` nils (array32 header).
bytes request_of_nils(std::uint32_t n)
{
    frame f;
    protocol::detail::begin_request(f, 1, chat_join, false);
    const char header[] = {'\x91', '\xdd', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                           static_cast<char>(n >> 8), static_cast<char>(n)};
    f.write(header, sizeof header);
    const std::string nils(n, '\xc0');
    f.write(nils.data(), nils.size());
    return body_of(f);
}

TEST(Codec, ALegitimateArrayOfManySmallValuesIsNeverRefused)
{
    // The decode budget is one object per byte, the most a valid message can need: a budget
    // below it would refuse this request (100k one-byte values) and close its link.
    frame f;
    protocol::encode_request(f, 3, chat_join, std::make_tuple(std::vector<int>(100'000, 1)));
    msgpack::zone zone;
    protocol::message msg;
    ASSERT_FALSE(protocol::decode(f.body(), zone, msg));
    EXPECT_EQ(msg.request.args.msgpack().via.array.ptr[0].via.array.size, 100'000u);
    const bytes nils = request_of_nils(1'000'000);
    msgpack::zone zone2;
    protocol::message msg2;
    EXPECT_FALSE(protocol::decode(nils, zone2, msg2));
}

TEST(Codec, ARequestBeyondTheDecodeRatioFailsAloneWithItsIdDecoded)
{
    // A server's max_decode_ratio (8): a million nils would take 24 bytes per byte.
    const bytes nils = request_of_nils(1'000'000);
    msgpack::zone zone;
    protocol::message msg;
    msg.max_decode_ratio = 8;
    EXPECT_EQ(protocol::decode(nils, zone, msg), mailroom::error::frame_too_large);
    EXPECT_EQ(msg.kind, protocol::message_kind::request);
    EXPECT_EQ(msg.request.id, 1u) << "the request can be answered";
    // Within the ratio: 4-byte strings take 24 bytes decoded per 4 on the wire.
    frame f;
    protocol::encode_request(f, 2, chat_join,
                             std::make_tuple(std::vector<std::string>(200'000, "abc")));
    msgpack::zone zone2;
    protocol::message msg2;
    msg2.max_decode_ratio = 8;
    EXPECT_FALSE(protocol::decode(body_of(f), zone2, msg2));
    // A malformed body stays a protocol error.
    bytes cut = nils;
    cut.resize(cut.size() / 2);
    msgpack::zone zone3;
    protocol::message msg3;
    msg3.max_decode_ratio = 8;
    EXPECT_EQ(protocol::decode(cut, zone3, msg3), mailroom::error::protocol_error);
}

TEST(Codec, ABodyDeclaringMoreValuesThanItHoldsIsMalformedNotTooLarge)
{
    // Found by the codec fuzz target: at the protocol's own bound (one value per byte) every
    // valid message fits, so a body over it declared values it does not hold. It is
    // malformed (the link closes), not a valid request too large to decode (answered alone).
    frame f;
    protocol::encode_request(f, 3, chat_join, std::make_tuple(std::vector<int>{}));
    bytes body = body_of(f);
    ASSERT_EQ(static_cast<unsigned char>(body.back()), 0x90) << "the empty array ends the body";
    // 32 nested arrays, each declaring 1,000 values (no more than the bytes left after its
    // header), then 1,000 nils: 32,000 values declared, far over the budget for 1 KiB.
    body.pop_back();
    for (int i = 0; i < 32; ++i)
        body.insert(body.end(), {static_cast<char>(0xdc), static_cast<char>(0x03),
                                 static_cast<char>(0xe8)});
    body.insert(body.end(), 1'000, static_cast<char>(0xc0));
    msgpack::zone zone;
    protocol::message msg;
    EXPECT_EQ(protocol::decode(body, zone, msg), mailroom::error::protocol_error);
    msgpack::zone zone2;
    protocol::message msg2;
    msg2.max_decode_ratio = 8; // a server's ratio: the request may be valid, answered alone
    EXPECT_EQ(protocol::decode(body, zone2, msg2), mailroom::error::frame_too_large);
}

TEST(Codec, AHandshakeMessageOverTheBudgetIsMalformedWhateverTheRatio)
{
    // Found by the codec fuzz target: a hello_ack whose fields declare more values than a
    // server's budget allows has no answer of its own; it is a bad frame, never
    // frame_too_large (which a server answers as a refused call).
    bytes body = {static_cast<char>(0x97), 0x07, 0x02, static_cast<char>(0xa6)};
    for (char c : std::string_view("chat-1"))
        body.push_back(c);
    body.push_back(0x00);                    // code
    body.push_back(static_cast<char>(0xa0)); // message ""
    for (int i = 0; i < 32; ++i)             // the nonce: nested arrays, as above
        body.insert(body.end(), {static_cast<char>(0xdc), static_cast<char>(0x03),
                                 static_cast<char>(0xe8)});
    body.insert(body.end(), 1'000, static_cast<char>(0xc0));
    for (std::size_t ratio : {std::size_t(0), std::size_t(8)}) {
        msgpack::zone zone;
        protocol::message msg;
        msg.max_decode_ratio = ratio;
        EXPECT_EQ(protocol::decode(body, zone, msg), mailroom::error::protocol_error) << ratio;
    }
}

TEST(Codec, ValuesWithinTheDecodeBudgetStillDecode)
{
    // Small arrays of one-byte values fit the floor; larger values fit the per-byte budget.
    const std::uint32_t fits = protocol::decoded_bytes_floor / sizeof(msgpack::object) - 100;
    const bytes body = request_of_nils(fits);
    msgpack::zone zone;
    protocol::message msg;
    ASSERT_FALSE(protocol::decode(body, zone, msg));
    EXPECT_EQ(msg.request.args.size(), 1u);
    frame f;
    protocol::encode_request(f, 2, chat_join,
                             std::make_tuple(std::vector<std::string>(200'000, "abc")));
    msgpack::zone zone2;
    EXPECT_FALSE(protocol::decode(body_of(f), zone2, msg)) << "4 bytes a value fit";
}

TEST(Codec, RejectsDeeplyNestedArraysWithoutOverflowingTheStack)
{
    bytes b(10'000, static_cast<char>(0x91));
    b.push_back(0x01);
    expect_protocol_error(b, "10,000 nested arrays");
    bytes maps;
    for (int i = 0; i < 10'000; ++i) {
        maps.push_back(static_cast<char>(0x81));
        maps.push_back(0x00);
    }
    maps.push_back(0x00);
    expect_protocol_error(maps, "10,000 nested maps");
}

TEST(Codec, ReturnsForRandomBytes)
{
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 64);
    for (int round = 0; round < 5'000; ++round) {
        bytes b(length(rng));
        for (auto& c : b)
            c = static_cast<char>(byte(rng));
        // Half of them start like a message, so the decoder gets past the first byte.
        if (round % 2 == 0 && b.size() >= 2) {
            b[0] = static_cast<char>(0x90 | (byte(rng) & 0x0f));
            b[1] = static_cast<char>(1 + byte(rng) % 7);
        }
        decoded d;
        const std::error_code ec = decode(b, d);
        EXPECT_TRUE(!ec || ec == error::protocol_error) << ec.message();
    }
}

TEST(Codec, ReturnsForRandomMutationsOfAValidRequest)
{
    const bytes valid = valid_request();
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> pos(0, valid.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 5'000; ++round) {
        bytes b = valid;
        for (int k = 0; k < 1 + round % 4; ++k)
            b[pos(rng)] = static_cast<char>(byte(rng));
        decoded d;
        const std::error_code ec = decode(b, d);
        EXPECT_TRUE(!ec || ec == error::protocol_error) << ec.message();
    }
}

// --- peek_kind / decode_keepalive ----------------------------------------------------------

TEST(Codec, PeekKindReadsTheKindOfEveryMessage)
{
    frame req, notify, resp, ping, pong, hello, ack;
    protocol::encode_request(req, 1, chat_join, std::make_tuple(1), 10);
    protocol::encode_notify(notify, chat_join, std::make_tuple(1));
    protocol::encode_void_response(resp, 1);
    protocol::encode_ping(ping, 1);
    protocol::encode_pong(pong, 1);
    protocol::encode_hello(hello, "a");
    protocol::encode_hello_ack(ack, "b");
    EXPECT_EQ(protocol::peek_kind(req.body()), 1);
    EXPECT_EQ(protocol::peek_kind(notify.body()), 2);
    EXPECT_EQ(protocol::peek_kind(resp.body()), 3);
    EXPECT_EQ(protocol::peek_kind(ping.body()), 4);
    EXPECT_EQ(protocol::peek_kind(pong.body()), 5);
    EXPECT_EQ(protocol::peek_kind(hello.body()), 6);
    EXPECT_EQ(protocol::peek_kind(ack.body()), 7);
}

TEST(Codec, PeekKindReturnsZeroForBodiesThatDoNotStartLikeAMessage)
{
    EXPECT_EQ(protocol::peek_kind({}), 0);
    EXPECT_EQ(protocol::peek_kind(from_hex("92")), 0);
    EXPECT_EQ(protocol::peek_kind(from_hex("81 04 01")), 0);
    EXPECT_EQ(protocol::peek_kind(from_hex("04 04")), 0);
    EXPECT_EQ(protocol::peek_kind(from_hex("92 cc 04 01")), 0);
    EXPECT_EQ(protocol::peek_kind(from_hex("92 ff 01")), 0);
}

TEST(Codec, DecodeKeepaliveReadsPingAndPongNonces)
{
    frame ping, pong;
    protocol::encode_ping(ping, 0x0123456789ABCDEFull);
    protocol::encode_pong(pong, 77);
    std::uint64_t nonce = 0;
    ASSERT_TRUE(protocol::decode_keepalive(ping.body(), nonce));
    EXPECT_EQ(nonce, 0x0123456789ABCDEFull);
    ASSERT_TRUE(protocol::decode_keepalive(pong.body(), nonce));
    EXPECT_EQ(nonce, 77u);
}

TEST(Codec, DecodeKeepaliveAcceptsANonceOfZero)
{
    frame ping;
    protocol::encode_ping(ping, 0);
    std::uint64_t nonce = 5;
    ASSERT_TRUE(protocol::decode_keepalive(ping.body(), nonce));
    EXPECT_EQ(nonce, 0u);
}

TEST(Codec, DecodeKeepaliveRejectsOtherOrMalformedBodies)
{
    frame req;
    protocol::encode_request(req, 9, chat_join, std::make_tuple(1));
    std::uint64_t nonce = 0;
    EXPECT_FALSE(protocol::decode_keepalive(req.body(), nonce));
    EXPECT_FALSE(protocol::decode_keepalive({}, nonce));
    EXPECT_FALSE(protocol::decode_keepalive(from_hex("92 04"), nonce));
    EXPECT_FALSE(protocol::decode_keepalive(from_hex("92 04 01 00"), nonce));
    EXPECT_FALSE(protocol::decode_keepalive(from_hex("92 04 a1 31"), nonce));
    EXPECT_FALSE(protocol::decode_keepalive(from_hex("93 04 01 01"), nonce));
}

} // namespace

namespace {

// --- the decoder against msgpack-c's own unpacker ------------------------------------------

/// Packs a random value of every msgpack family (each width of each), nested up to `depth`.
void pack_random(protocol::packer& pk, std::mt19937_64& rng, int depth)
{
    const int kind = static_cast<int>(rng() % (depth > 0 ? 22 : 19));
    const std::string text(rng() % 3 == 0 ? 40000 : rng() % 300, 'a' + static_cast<char>(rng() % 26));
    switch (kind) {
    case 0: pk.pack_nil(); break;
    case 1: pk.pack(rng() % 2 == 0); break;
    case 2: pk.pack_fix_uint8(static_cast<std::uint8_t>(rng() % 128)); break;
    case 3: pk.pack_uint8(static_cast<std::uint8_t>(rng())); break;
    case 4: pk.pack_uint16(static_cast<std::uint16_t>(rng())); break;
    case 5: pk.pack_uint32(static_cast<std::uint32_t>(rng())); break;
    case 6: pk.pack_uint64(rng()); break;
    case 7: pk.pack_int8(static_cast<std::int8_t>(rng())); break;
    case 8: pk.pack_int16(static_cast<std::int16_t>(rng())); break;
    case 9: pk.pack_int32(static_cast<std::int32_t>(rng())); break;
    case 10: pk.pack_int64(static_cast<std::int64_t>(rng())); break;
    case 11: pk.pack_fix_int8(static_cast<std::int8_t>(-1 - static_cast<int>(rng() % 32))); break;
    case 12: pk.pack_float(static_cast<float>(static_cast<std::int64_t>(rng())) / 3.0f); break;
    case 13: pk.pack_double(static_cast<double>(static_cast<std::int64_t>(rng())) / 7.0); break;
    case 14: pk.pack(text.substr(0, rng() % 40)); break;
    case 15: pk.pack(text); break;
    case 16:
        pk.pack_bin(static_cast<std::uint32_t>(text.size()));
        pk.pack_bin_body(text.data(), static_cast<std::uint32_t>(text.size()));
        break;
    case 17:
    case 18: {
        static const std::uint32_t sizes[] = {1, 2, 4, 8, 16, 0, 3, 17, 300, 70000};
        const std::uint32_t n = sizes[rng() % 10];
        const std::string data(n, 'e');
        pk.pack_ext(n, static_cast<std::int8_t>(rng()));
        pk.pack_ext_body(data.data(), n);
        break;
    }
    case 19: {
        const std::uint32_t n = rng() % 5 == 0 ? 16 + rng() % 30 : rng() % 4;
        pk.pack_array(n);
        for (std::uint32_t i = 0; i < n; ++i)
            pack_random(pk, rng, depth - 1);
        break;
    }
    default: {
        const std::uint32_t n = rng() % 5 == 0 ? 16 + rng() % 20 : rng() % 4;
        pk.pack_map(n);
        for (std::uint32_t i = 0; i < 2 * n; ++i)
            pack_random(pk, rng, depth - 1);
        break;
    }
    }
}

TEST(Codec, DecodesEveryValueAsMsgpackDoes)
{
    std::mt19937_64 rng(99);
    for (int round = 0; round < 400; ++round) {
        frame args;
        protocol::packer apk(args);
        const std::uint32_t n = rng() % 6;
        apk.pack_array(n);
        for (std::uint32_t i = 0; i < n; ++i)
            pack_random(apk, rng, 5);
        msgpack::object_handle expected = msgpack::unpack(args.body().data(), args.body().size());

        frame req;
        protocol::packer pk(req);
        pk.pack_array(7);
        pk.pack(1);
        pk.pack(round + 1);
        pk.pack("user");
        pk.pack("t");
        pk.pack("s");
        pk.pack("m");
        req.write(args.body().data(), args.body().size());

        const bytes whole = body_of(req); // the decoded views point into it
        decoded d;
        ASSERT_FALSE(decode(whole, d)) << "round " << round;
        EXPECT_EQ(d.msg.request.args.msgpack(), expected.get()) << "round " << round;
        // Every truncation of it fails cleanly.
        for (std::size_t cut = 0; cut < whole.size(); cut += 1 + whole.size() / 97) {
            decoded t;
            EXPECT_EQ(decode(bytes(whole.begin(), whole.begin() + static_cast<long>(cut)), t),
                      error::protocol_error);
        }
    }
}

TEST(Codec, DecodedExtensionsAndFloatsConvertLikeMsgpack)
{
    frame f;
    protocol::encode_request(f, 5, {"user", "t", "s", "m"},
                             std::tuple{1.5f, -2.25, std::int64_t{-5}, std::uint64_t{1} << 63,
                                        msgpack::type::ext(7, "xyz", 3)});
    const bytes body = body_of(f);
    decoded d;
    ASSERT_FALSE(decode(body, d));
    auto v = d.msg.request.args.msgpack().as<std::tuple<float, double, std::int64_t, std::uint64_t,
                                              msgpack::type::ext>>();
    EXPECT_EQ(std::get<0>(v), 1.5f);
    EXPECT_EQ(std::get<1>(v), -2.25);
    EXPECT_EQ(std::get<2>(v), -5);
    EXPECT_EQ(std::get<3>(v), std::uint64_t{1} << 63);
    EXPECT_EQ(std::get<4>(v).type(), 7);
    EXPECT_EQ(std::string(std::get<4>(v).data(), std::get<4>(v).size()), "xyz");
}

} // namespace
