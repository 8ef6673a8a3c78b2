#include <mailroom/protocol/detail/json_numbers.hpp>
// Test that header file is self-contained.

// Inputs the fuzz targets (fuzz/, docs/security.md) found to crash or misbehave, each
// replayed against the fixed code; the inputs are in fuzz/corpus/ as well.

#include <mailroom/app/config.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/values.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

using mailroom::value_view;
using nlohmann::json;

template <class T>
bool converts(const json& j, T& out)
{
    return value_view(j).convert(out);
}

// fuzz/corpus/values/json_float_to_int: nlohmann casts a JSON number to an integer type with
// static_cast, undefined for -1.5e300 (UBSan: "outside the range of representable values").
TEST(DecoderRegression, JsonNumberOutOfAnIntegersRangeDoesNotConvert)
{
    int i = 0;
    EXPECT_FALSE(converts(json::parse("-1.5e300"), i));
    EXPECT_FALSE(converts(json::parse("1e10"), i));
    std::uint16_t u = 0;
    EXPECT_FALSE(converts(json::parse("-1.5e300"), u));
    EXPECT_FALSE(converts(json::parse("-1"), u));
    EXPECT_FALSE(converts(json::parse("65536"), u));
    std::int8_t s = 0;
    EXPECT_FALSE(converts(json::parse("18446744073709551615"), s));
    EXPECT_FALSE(converts(json::parse("-129"), s));
    std::uint64_t big = 0;
    EXPECT_FALSE(converts(json::parse("-1"), big));
}

TEST(DecoderRegression, JsonFractionDoesNotConvertToAnIntegerAsInMsgpack)
{
    int i = 7;
    EXPECT_FALSE(converts(json::parse("2.5"), i));
    EXPECT_FALSE(converts(json::parse("2.0"), i)); // a float is not an integer in msgpack either
}

TEST(DecoderRegression, JsonNumbersThatFitStillConvert)
{
    int i = 0;
    ASSERT_TRUE(converts(json::parse("-2147483648"), i));
    EXPECT_EQ(i, -2147483648);
    std::uint64_t big = 0;
    ASSERT_TRUE(converts(json::parse("18446744073709551615"), big));
    EXPECT_EQ(big, 18446744073709551615ull);
    double d = 0;
    ASSERT_TRUE(converts(json::parse("-1.5e300"), d));
    EXPECT_EQ(d, -1.5e300);
    ASSERT_TRUE(converts(json::parse("3"), d));
    EXPECT_EQ(d, 3.0);
    std::string text;
    ASSERT_TRUE(converts(json::parse(R"("1e300")"), text));
}

TEST(DecoderRegression, JsonNumbersAreCheckedInsideContainers)
{
    std::vector<int> v;
    EXPECT_FALSE(converts(json::parse("[1, 2, 1e300]"), v));
    ASSERT_TRUE(converts(json::parse("[1, 2, -3]"), v));
    EXPECT_EQ(v, (std::vector<int>{1, 2, -3}));
    std::map<std::string, std::uint8_t> m;
    EXPECT_FALSE(converts(json::parse(R"({"hp": 256})"), m));
    ASSERT_TRUE(converts(json::parse(R"({"hp": 255})"), m));
    EXPECT_EQ(m.at("hp"), 255);
    std::tuple<std::string, std::vector<std::int16_t>> t;
    EXPECT_FALSE(converts(json::parse(R"(["a", [40000]])"), t));
    ASSERT_TRUE(converts(json::parse(R"(["a", [-4]])"), t));
    EXPECT_EQ(std::get<1>(t), (std::vector<std::int16_t>{-4}));
}

// fuzz/corpus/servers_json/number_overflow: a number beyond a double's range made
// nlohmann throw out_of_range, which escaped parse_servers instead of a config_error.
TEST(DecoderRegression, ServersJsonNumberOverflowIsAConfigError)
{
    const std::string text =
        R"({"development":{"a":[{"id":"x","host":"h","port":1,"n":1e400}]}})";
    try {
        mailroom::parse_servers(text, "development", "servers.json");
        FAIL() << "parsed";
    } catch (const mailroom::config_error& e) {
        EXPECT_NE(std::string(e.what()).find("servers.json: (document): not valid JSON"),
                  std::string::npos)
            << e.what();
    }
}

// fuzz/corpus/values/msgpack_double_2_64: msgpack-cxx's packer converts 2^64 to uint64_t
// (undefined; a third-party header, docs/security.md). What matters here: the value still
// travels as the double it is.
TEST(DecoderRegression, DoubleOfTwoToThe64RoundTrips)
{
    const double two_64 = 18446744073709551616.0;
    mailroom::frame f;
    mailroom::protocol::encode_response(f, 1, two_64);
    msgpack::zone zone;
    mailroom::protocol::message m;
    ASSERT_FALSE(mailroom::protocol::decode(f.body(), zone, m));
    double back = 0;
    ASSERT_TRUE(m.response.result.convert(back));
    EXPECT_EQ(back, two_64);
}

} // namespace
