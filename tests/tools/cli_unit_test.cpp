#include "signature.hpp"
// Test that header file is self-contained.

#include "command_line.hpp"
#include "convert.hpp"
#include "error_name.hpp"

#include <mailroom/error.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace {

using namespace mailroom::cli;
using json = nlohmann::json;
using kind = type_desc::kind;

TEST(Signature, ReadsResultParametersAndNames)
{
    auto s = parse_signature("channel_state(std::string uid, const std::string& sid, int n)");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->result.k, kind::other);
    EXPECT_EQ(s->result.spelling, "channel_state");
    ASSERT_EQ(s->params.size(), 3u);
    EXPECT_EQ(s->params[0].name, "uid");
    EXPECT_EQ(s->params[0].type.k, kind::string);
    EXPECT_EQ(s->params[1].name, "sid");
    EXPECT_EQ(s->params[1].type.k, kind::string);
    EXPECT_EQ(s->params[2].type.k, kind::integer);
    EXPECT_FALSE(s->notify);
}

TEST(Signature, ReadsUnnamedAndMultiWordTypes)
{
    auto s = parse_signature("void(unsigned int, long long x, unsigned)");
    ASSERT_TRUE(s);
    ASSERT_EQ(s->params.size(), 3u);
    EXPECT_EQ(s->params[0].name, "");
    EXPECT_EQ(s->params[0].type.max, std::numeric_limits<unsigned>::max());
    EXPECT_FALSE(s->params[0].type.is_signed);
    EXPECT_EQ(s->params[1].name, "x");
    EXPECT_EQ(s->params[1].type.min, std::numeric_limits<long long>::min());
    EXPECT_EQ(s->params[2].name, "");
    EXPECT_EQ(s->result.k, kind::nothing);
}

TEST(Signature, ReadsContainersAndNotifies)
{
    auto s = parse_signature(
        "mailroom::no_reply(std::map<std::string, std::vector<std::int16_t>> m, "
        "std::optional<double> o, std::array<int, 3> a, std::pair<int, bool> p)");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->notify);
    ASSERT_EQ(s->params.size(), 4u);
    const auto& m = s->params[0].type;
    EXPECT_EQ(m.k, kind::map);
    EXPECT_EQ(m.args[0].k, kind::string);
    EXPECT_EQ(m.args[1].k, kind::sequence);
    EXPECT_EQ(m.args[1].args[0].max, 32767u);
    EXPECT_EQ(s->params[1].type.k, kind::optional);
    EXPECT_EQ(s->params[2].type.size, 3u);
    EXPECT_EQ(s->params[3].type.k, kind::pair);
    EXPECT_EQ(s->params[3].name, "p");
}

TEST(Signature, EmptyParameterListsAndMalformedText)
{
    auto s = parse_signature("mailroom::health_status()");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->params.empty());
    EXPECT_FALSE(parse_signature(""));
    EXPECT_FALSE(parse_signature("int"));
    EXPECT_FALSE(parse_signature("(int a)"));
}

std::string convert(const std::string& sig, const json& args, converted_args* out = nullptr)
{
    converted_args c;
    auto s = parse_signature(sig);
    EXPECT_TRUE(s) << sig;
    auto e = convert_args(*s, args, c);
    if (out)
        *out = c;
    return e;
}

TEST(Convert, AcceptsMatchingArgumentsInBothFormats)
{
    converted_args c;
    ASSERT_EQ(convert("int(int a, double b, bool c, std::string d)", json::parse(R"([1, 2, true, "x"])"), &c), "");
    EXPECT_EQ(c.json(), json::parse(R"([1, 2.0, true, "x"])"));
    // The integer given for a double reads as one on the callee.
    EXPECT_EQ(c.msgpack().via.array.ptr[1].as<double>(), 2.0);
    EXPECT_EQ(c.msgpack().via.array.ptr[0].as<int>(), 1);
    EXPECT_EQ(c.msgpack().via.array.ptr[3].as<std::string>(), "x");
}

TEST(Convert, RejectsWrongCountAndTypesNamingTheArgument)
{
    EXPECT_EQ(convert("int(int a, int b)", json::parse("[1]")), "expected 2 arguments, got 1");
    auto e = convert("int(int a, int b)", json::parse(R"([1, "2"])"));
    EXPECT_NE(e.find("argument 2 (b)"), std::string::npos) << e;
    EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
    EXPECT_NE(convert("int(std::string s)", json::parse("[1]")).find("expected a string"),
              std::string::npos);
    EXPECT_NE(convert("int(bool b)", json::parse("[1]")).find("true or false"), std::string::npos);
    EXPECT_NE(convert("int(int a)", json::parse("[1.5]")).find("integer"), std::string::npos);
    EXPECT_NE(convert("int(int a)", json::parse("{}")).find("JSON array"), std::string::npos);
}

TEST(Convert, ChecksIntegerRanges)
{
    EXPECT_EQ(convert("int(int a)", json::parse("[2147483647]")), "");
    EXPECT_NE(convert("int(int a)", json::parse("[2147483648]")), "");
    EXPECT_EQ(convert("int(int a)", json::parse("[-2147483648]")), "");
    EXPECT_NE(convert("int(int a)", json::parse("[-2147483649]")), "");
    EXPECT_NE(convert("int(unsigned a)", json::parse("[-1]")), "");
    EXPECT_NE(convert("int(std::uint8_t a)", json::parse("[256]")), "");
    EXPECT_EQ(convert("int(std::uint64_t a)", json::parse("[18446744073709551615]")), "");
    EXPECT_NE(convert("int(std::int64_t a)", json::parse("[18446744073709551615]")), "");
    EXPECT_NE(convert("int(float f)", json::parse("[1e300]")), "");
}

TEST(Convert, ContainersOptionalsAndMapsWithIntegerKeys)
{
    converted_args c;
    ASSERT_EQ(convert("int(std::vector<int> v, std::optional<std::string> o, std::map<int, bool> m)",
                      json::parse(R"([[1, 2], null, {"7": true}])"), &c),
              "");
    const auto& m = c.msgpack().via.array.ptr[2];
    ASSERT_EQ(m.type, msgpack::type::MAP);
    EXPECT_EQ(m.via.map.ptr[0].key.as<int>(), 7) << "an integer key travels as an integer";
    auto e = convert("int(std::vector<int> v)", json::parse(R"([[1, "x"]])"));
    EXPECT_NE(e.find("argument 1 (v)[1]"), std::string::npos) << e;
    EXPECT_NE(convert("int(std::map<int, bool> m)", json::parse(R"([{"x": true}])")), "");
    EXPECT_NE(convert("int(std::array<int, 2> a)", json::parse("[[1, 2, 3]]")), "");
    EXPECT_EQ(convert("int(std::optional<int> o)", json::parse("[3]")), "");
}

TEST(Convert, PassesUserStructsAsMaps)
{
    converted_args c;
    ASSERT_EQ(convert("position(std::string uid, position to)",
                      json::parse(R"(["u1", {"x": 1, "y": -2}])"), &c),
              "");
    const auto& to = c.msgpack().via.array.ptr[1];
    ASSERT_EQ(to.type, msgpack::type::MAP);
    EXPECT_EQ(to.via.map.size, 2u);
}

TEST(Convert, ResultsBecomeJson)
{
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_map(2);
    pk.pack(std::string("members"));
    pk.pack(std::vector<std::string>{"a", "b"});
    pk.pack(3);
    pk.pack(-1.5);
    auto h = msgpack::unpack(b.data(), b.size());
    EXPECT_EQ(to_json(h.get()), json::parse(R"({"members": ["a", "b"], "3": -1.5})"));
}

TEST(CommandLine, ParsesOptionsFlagsAndPositionals)
{
    auto cl = parse_command_line({"servers.json", "--to", "x", "--timeout=2s", "--json", "[-1]"},
                                 {"to", "timeout"}, {"json"});
    EXPECT_EQ(cl.positional, (std::vector<std::string>{"servers.json", "[-1]"}));
    EXPECT_EQ(cl.get("to"), "x");
    EXPECT_EQ(cl.get("timeout"), "2s");
    EXPECT_TRUE(cl.has("json"));
    EXPECT_THROW(parse_command_line({"--nope"}, {}, {}), usage_error);
    EXPECT_THROW(parse_command_line({"--to"}, {"to"}, {}), usage_error);
}

TEST(CommandLine, ParsesDurations)
{
    using std::chrono::milliseconds;
    EXPECT_EQ(parse_duration("t", "2s"), milliseconds(2000));
    EXPECT_EQ(parse_duration("t", "500ms"), milliseconds(500));
    EXPECT_EQ(parse_duration("t", "1.5"), milliseconds(1500));
    EXPECT_EQ(parse_duration("t", "1m"), milliseconds(60'000));
    EXPECT_THROW(parse_duration("t", "0s"), usage_error);
    EXPECT_THROW(parse_duration("t", "abc"), usage_error);
    EXPECT_THROW(parse_count("n", "0", 10), usage_error);
    EXPECT_EQ(parse_count("n", "10", 10), 10u);
}

TEST(ErrorName, NamesEveryMailroomCode)
{
    EXPECT_EQ(error_name(mailroom::error::no_target_server), "no_target_server");
    EXPECT_EQ(error_name(mailroom::error::remote_error), "remote_error");
    EXPECT_EQ(error_name(mailroom::error::auth_unavailable), "auth_unavailable");
    EXPECT_EQ(error_name(std::make_error_code(std::errc::connection_refused)),
              "generic:" + std::to_string(static_cast<int>(std::errc::connection_refused)));
}

} // namespace
