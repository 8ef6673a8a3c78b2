#include <mailroom/protocol/wire_protocol.hpp>
// Test that header file is self-contained.

// The native protocol through the wire_protocol interface, and typed values as a protocol
// sees them (value_ref writing msgpack or JSON, value_view reading either).

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using mailroom::error;
using mailroom::frame;
using mailroom::value_ref;
using mailroom::value_view;
using mailroom::wire_protocol;
using mailroom::protocol::message;
using mailroom::protocol::message_kind;

const mailroom::protocol::method_path path{.server_type = "chat", .service = "room",
                                           .method = "join"};

std::vector<char> bytes_of(const frame& f) { return {f.body().begin(), f.body().end()}; }

struct msgpack_only {
    int x = 0;
    MSGPACK_DEFINE_MAP(x)
};

struct json_only {
    int y = 0;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(json_only, y)
};

// A JSON form is checked all the way down: nlohmann's own check says yes to a map of values
// it cannot convert.
static_assert(!mailroom::detail::json_readable_v<std::map<std::string, msgpack_only>>);
static_assert(!mailroom::detail::json_writable_v<std::vector<std::pair<int, msgpack_only>>>);
static_assert(mailroom::detail::json_readable_v<std::map<std::string, std::vector<json_only>>>);
static_assert(mailroom::detail::json_only_v<json_only>);
static_assert(!mailroom::detail::json_only_v<std::tuple<int, std::string>>);

TEST(NativeProtocol, EncodesRequestsAsTheCodecDoes)
{
    const auto& p = *mailroom::native_protocol();
    EXPECT_EQ(p.name(), "mailroom");
    EXPECT_EQ(p.format(), mailroom::value_format::msgpack);
    EXPECT_TRUE(p.has_handshake());
    EXPECT_EQ(p.version(), mailroom::protocol::version);
    const auto args = std::make_tuple(1, std::string("two"));
    frame via_protocol, via_codec;
    ASSERT_FALSE(p.encode_request(via_protocol, 9, path, value_ref(args), 250));
    mailroom::protocol::encode_request(via_codec, 9, path, args, 250);
    EXPECT_EQ(bytes_of(via_protocol), bytes_of(via_codec));
    EXPECT_TRUE(p.patch_request_timeout(via_protocol, 100));

    msgpack::zone zone;
    message m;
    ASSERT_FALSE(p.decode(via_protocol.body(), zone, m));
    EXPECT_EQ(m.kind, message_kind::request);
    EXPECT_EQ(m.request.timeout_ms, 100u);
    std::tuple<int, std::string> back;
    ASSERT_TRUE(m.request.args.convert(back));
    EXPECT_EQ(back, args);
}

TEST(NativeProtocol, RecognisesItsOwnKeepaliveOnly)
{
    const auto& p = *mailroom::native_protocol();
    frame ping, pong, call;
    ASSERT_TRUE(p.encode_ping(ping, 7));
    p.encode_pong(pong, 8);
    mailroom::protocol::encode_request(call, 1, path, std::tuple{});
    std::uint64_t nonce = 0;
    EXPECT_EQ(p.keepalive_of(ping.body(), nonce), wire_protocol::keepalive::ping);
    EXPECT_EQ(nonce, 7u);
    EXPECT_EQ(p.keepalive_of(pong.body(), nonce), wire_protocol::keepalive::pong);
    EXPECT_EQ(nonce, 8u);
    EXPECT_EQ(p.keepalive_of(call.body(), nonce), wire_protocol::keepalive::none);
    const char malformed_ping[] = {'\x92', '\x04', '\xc1'}; // a ping whose nonce is garbage
    EXPECT_EQ(p.keepalive_of(malformed_ping, nonce), wire_protocol::keepalive::none);
}

TEST(NativeProtocol, AResultWithoutMsgpackFormIsNotEncodable)
{
    const auto& p = *mailroom::native_protocol();
    frame f;
    const json_only o{1};
    const value_ref ref(o);
    EXPECT_EQ(p.encode_response(f, 1, &ref), error::not_encodable);
}

TEST(Values, TuplesBecomeJsonArraysElementByElement)
{
    // nlohmann's own tuple conversion would turn this pair-of-pairs shape into an object.
    const auto args = std::make_tuple(std::make_pair(std::string("a"), 1),
                                      std::make_pair(std::string("b"), 2));
    nlohmann::json j;
    ASSERT_FALSE(value_ref(args).to_json(j));
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j, nlohmann::json::parse(R"([["a",1],["b",2]])"));
}

TEST(Values, ATypeWithoutJsonConversionsIsNotEncodableAsJson)
{
    nlohmann::json j;
    const auto args = std::make_tuple(1, msgpack_only{2});
    EXPECT_EQ(value_ref(args).to_json(j), error::not_encodable);
    frame f;
    EXPECT_FALSE(value_ref(args).pack(f)) << "it has a msgpack form";
}

TEST(Values, JsonValuesAreWrittenAsMsgpackForANativeServer)
{
    const auto j = nlohmann::json::array({1, "two", nlohmann::json::object({{"k", true}})});
    frame f;
    ASSERT_FALSE(value_ref(j).pack(f));
    auto h = msgpack::unpack(f.body().data(), f.body().size());
    std::tuple<int, std::string, std::map<std::string, bool>> v;
    h.get().convert(v);
    EXPECT_EQ(std::get<0>(v), 1);
    EXPECT_EQ(std::get<1>(v), "two");
    EXPECT_TRUE(std::get<2>(v).at("k"));
}

TEST(Values, JsonNumbersConvertAsStrictlyAsMsgpackOnes)
{
    const auto j = nlohmann::json::parse(R"([1.5, -1, true, 300, 7])");
    const value_view v(j);
    int i = 0;
    unsigned u = 0;
    std::uint8_t small = 0;
    double d = 0;
    bool b = false;
    EXPECT_FALSE(v[0].convert(i)) << "1.5 is not an int";
    EXPECT_TRUE(v[0].convert(d));
    EXPECT_FALSE(v[1].convert(u)) << "-1 is not an unsigned";
    EXPECT_TRUE(v[1].convert(i));
    EXPECT_EQ(i, -1);
    EXPECT_FALSE(v[2].convert(i)) << "true is not a number";
    EXPECT_TRUE(v[2].convert(b));
    EXPECT_FALSE(v[3].convert(small)) << "300 does not fit 8 bits";
    EXPECT_FALSE(v[4].convert(b)) << "7 is not a boolean";
    EXPECT_TRUE(v[4].convert(d));
}

TEST(Values, ViewsConvertEitherFormatAndDescribeWhatTheyHold)
{
    const auto j = nlohmann::json::parse(R"([1, "x", -2, null])");
    const value_view jv(j);
    EXPECT_EQ(jv.format(), mailroom::value_format::json);
    ASSERT_TRUE(jv.is_array());
    ASSERT_EQ(jv.size(), 4u);
    int i = 0;
    EXPECT_TRUE(jv[0].convert(i));
    EXPECT_EQ(i, 1);
    EXPECT_FALSE(jv[1].convert(i)) << "a string is not an int";
    EXPECT_EQ(jv[1].kind(), "a string");
    EXPECT_EQ(jv[2].kind(), "a negative integer");
    EXPECT_TRUE(jv[3].is_nil());
    msgpack_only m;
    EXPECT_FALSE(jv[0].convert(m)) << "no JSON conversions: never converts from JSON";

    msgpack::sbuffer buf;
    msgpack::pack(buf, std::make_tuple(std::string("y"), 3));
    auto h = msgpack::unpack(buf.data(), buf.size());
    const value_view mv(h.get());
    EXPECT_EQ(mv.format(), mailroom::value_format::msgpack);
    ASSERT_EQ(mv.size(), 2u);
    std::string s;
    EXPECT_TRUE(mv[0].convert(s));
    EXPECT_EQ(s, "y");
    EXPECT_EQ(mv[1].kind(), "a non-negative integer");
    nlohmann::json none;
    EXPECT_FALSE(mv.convert(none)) << "a msgpack value is not turned into JSON";
}

} // namespace
