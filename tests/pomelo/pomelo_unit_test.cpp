// The pomelo transport's sans-I/O parts: MQTT packets (golden bytes of stock pomelo-rpc
// 1.0.7 peers, docs/pomelo-interop.md) and the JSON protocol.

// Test that header file is self-contained.
#include <mailroom/pomelo/mqtt.hpp>

#include <mailroom/error.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/results.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>
#include <vector>

namespace {

namespace mqtt = mailroom::pomelo::mqtt;
using mailroom::error;
using nlohmann::json;

std::span<const char> bytes(const std::string& s) { return {s.data(), s.size()}; }

std::string publish(const std::string& payload)
{
    char h[mqtt::max_publish_header];
    const auto n = mqtt::publish_header(payload.size(), h);
    return std::string(h, n) + payload;
}

TEST(PomeloMqtt, APublishIsWrittenAsTheStockPeersWriteIt)
{
    const std::string payload = R"({"id":0,"resp":[null,"hello, mailroom"]})";
    const auto p = publish(payload);
    // 30 <len> 00 03 "rpc" payload: QoS 0, no packet identifier.
    ASSERT_GE(p.size(), 7u);
    EXPECT_EQ(static_cast<unsigned char>(p[0]), 0x30);
    EXPECT_EQ(static_cast<unsigned char>(p[1]), payload.size() + 5);
    EXPECT_EQ(p.substr(2, 5), std::string("\0\3rpc", 5));
    EXPECT_EQ(p.substr(7), payload);
}

TEST(PomeloMqtt, RemainingLengthsUseUpToFourBytes)
{
    char h[mqtt::max_publish_header];
    EXPECT_EQ(mqtt::publish_header(1068 - 5, h), 1u + 2 + 5); // golden: 30 ac 08
    EXPECT_EQ(static_cast<unsigned char>(h[1]), 0xac);
    EXPECT_EQ(static_cast<unsigned char>(h[2]), 0x08);
    EXPECT_EQ(mqtt::publish_header(mqtt::max_remaining_length - 5, h), 1u + 4 + 5);
    EXPECT_EQ(mqtt::publish_header(mqtt::max_remaining_length - 4, h), 0u) << "beyond MQTT";
}

TEST(PomeloMqtt, ParsesTheStockClientsPackets)
{
    // CONNECT 10 22 00 04 "MQTT" 04 02 00 00 00 16 "MQTT_RPC_1796425186229", then PINGREQ.
    std::string in = mqtt::connect_packet("MQTT_RPC_1796425186229");
    EXPECT_EQ(in.size(), 0x24u);
    EXPECT_EQ(in.substr(0, 14), std::string("\x10\x22\0\4MQTT\4\2\0\0\0\x16", 14));
    in.append(mqtt::pingreq, 2);
    in += publish(R"({"id":0,"msg":{}})");
    mqtt::packet p;
    std::size_t used = 0;
    ASSERT_EQ(mqtt::parse(bytes(in), 1 << 20, p, used), mqtt::parse_status::packet);
    EXPECT_EQ(p.type(), mqtt::packet_type::connect);
    in.erase(0, used);
    ASSERT_EQ(mqtt::parse(bytes(in), 1 << 20, p, used), mqtt::parse_status::packet);
    EXPECT_EQ(p.type(), mqtt::packet_type::pingreq);
    EXPECT_EQ(used, 2u);
    in.erase(0, used);
    ASSERT_EQ(mqtt::parse(bytes(in), 1 << 20, p, used), mqtt::parse_status::packet);
    ASSERT_EQ(p.type(), mqtt::packet_type::publish);
    std::span<const char> payload;
    ASSERT_TRUE(mqtt::publish_payload(p, payload));
    EXPECT_EQ(std::string(payload.data(), payload.size()), R"({"id":0,"msg":{}})");
}

TEST(PomeloMqtt, APacketInPiecesWaitsAndLengthsAreBounded)
{
    const auto whole = publish(std::string(300, 'x'));
    mqtt::packet p;
    std::size_t used = 0;
    for (std::size_t n = 0; n < whole.size(); ++n)
        EXPECT_EQ(mqtt::parse({whole.data(), n}, 1 << 20, p, used), mqtt::parse_status::need_more)
            << n;
    EXPECT_EQ(mqtt::parse({whole.data(), 3}, 1 << 20, p, used), mqtt::parse_status::need_more);
    EXPECT_EQ(used, whole.size()) << "the size to wait for is known from the header";
    EXPECT_EQ(mqtt::parse(bytes(whole), 100, p, used), mqtt::parse_status::too_large);
    const std::string five("\x30\xff\xff\xff\xff\x01", 6);
    EXPECT_EQ(mqtt::parse(bytes(five), mqtt::max_remaining_length, p, used),
              mqtt::parse_status::malformed);
    // QoS 1: a packet identifier follows the topic; a topic longer than the packet is refused.
    const std::string qos1("\x32\x09\0\3rpc\0\1{}", 11);
    ASSERT_EQ(mqtt::parse(bytes(qos1), 100, p, used), mqtt::parse_status::packet);
    std::span<const char> payload;
    ASSERT_TRUE(mqtt::publish_payload(p, payload));
    EXPECT_EQ(std::string(payload.data(), payload.size()), "{}");
    const std::string bad_topic("\x30\x03\0\x09r", 5);
    ASSERT_EQ(mqtt::parse(bytes(bad_topic), 100, p, used), mqtt::parse_status::packet);
    EXPECT_FALSE(mqtt::publish_payload(p, payload));
}

std::vector<std::string> split(const std::string& s, bool* ok = nullptr)
{
    std::vector<std::string> out;
    const bool r = mqtt::split_array(bytes(s), [&](std::span<const char> e) {
        out.emplace_back(e.data(), e.size());
    });
    if (ok)
        *ok = r;
    return out;
}

TEST(PomeloMqtt, BatchesSplitIntoTheirElements)
{
    bool ok = false;
    EXPECT_EQ(split(R"( [ {"id":1,"msg":{"a":"],}\"["}} , {"id":2} ,3,"x,y",[1,[2]]] )", &ok),
              (std::vector<std::string>{R"({"id":1,"msg":{"a":"],}\"["}})", R"({"id":2})", "3",
                                        R"("x,y")", "[1,[2]]"}));
    EXPECT_TRUE(ok);
    EXPECT_TRUE(split("[]", &ok).empty());
    EXPECT_TRUE(ok);
    for (const char* bad : {"[", "[1,", "[1,]", "[,1]", "[1]]", "[{]", "[\"]", "[1] x", "{}"}) {
        split(bad, &ok);
        EXPECT_FALSE(ok) << bad;
    }
    EXPECT_TRUE(mqtt::is_batch(bytes(std::string(" \n["))));
    EXPECT_FALSE(mqtt::is_batch(bytes(std::string("{\"id\":["))));
}

// --- the JSON protocol ---------------------------------------------------------------------

class PomeloProtocol : public ::testing::Test {
protected:
    mailroom::protocol::message decode(const std::string& body)
    {
        mailroom::protocol::message m;
        EXPECT_FALSE(proto_.decode(bytes(body), zone_, m));
        return m;
    }

    static json body_of(const mailroom::frame& f)
    {
        return json::parse(f.body().begin(), f.body().end());
    }

    mailroom::pomelo::json_protocol proto_;
    msgpack::zone zone_;
};

TEST_F(PomeloProtocol, RequestsAreWrittenAsTheStockClientWritesThem)
{
    mailroom::frame f;
    const auto args = std::make_tuple(std::string("hello, mailroom"));
    ASSERT_FALSE(proto_.encode_request(
        f, 1, {.ns = "user", .server_type = "echo", .service = "echoRemote", .method = "echo"},
        mailroom::value_ref(args), 0));
    EXPECT_EQ(std::string(f.body().data(), f.body().size()),
              R"({"id":0,"msg":{"args":["hello, mailroom"],"method":"echo","namespace":"user",)"
              R"("serverType":"echo","service":"echoRemote"}})");
}

TEST_F(PomeloProtocol, AStockRequestDecodesWithIdsShiftedByOne)
{
    auto m = decode(R"({"id":0,"msg":{"namespace":"user","serverType":"echo",)"
                    R"("service":"echoRemote","method":"echo","args":["hi",2]},"traceId":"x"})");
    ASSERT_EQ(m.kind, mailroom::protocol::message_kind::request);
    EXPECT_EQ(m.request.id, 1u) << "wire id 0 is a call, not a notify";
    EXPECT_EQ(m.request.path.ns, "user");
    EXPECT_EQ(m.request.path.service, "echoRemote");
    EXPECT_EQ(m.request.path.method, "echo");
    EXPECT_EQ(m.request.args.size(), 2u);
    mailroom::frame f;
    const int three = 3;
    ASSERT_FALSE(proto_.encode_response(f, m.request.id, nullptr));
    EXPECT_EQ(body_of(f), json::parse(R"({"id":0,"resp":[null]})"));
    f.clear();
    const mailroom::value_ref<int> result(three);
    ASSERT_FALSE(proto_.encode_response(f, 8, &result));
    EXPECT_EQ(body_of(f), json::parse(R"({"id":7,"resp":[null,3]})"));
}

TEST_F(PomeloProtocol, SeveralResultsSpreadOverTheCallback)
{
    const mailroom::pomelo::results<std::string, int> r{"left", 7};
    mailroom::frame f;
    const mailroom::value_ref ref(r);
    ASSERT_FALSE(proto_.encode_response(f, 1, &ref));
    EXPECT_EQ(body_of(f), json::parse(R"({"id":0,"resp":[null,"left",7]})"));

    auto m = decode(R"({"id":0,"resp":[null,"left",7]})");
    ASSERT_EQ(m.kind, mailroom::protocol::message_kind::response);
    mailroom::pomelo::results<std::string, int> back;
    ASSERT_TRUE(m.response.result.convert(back));
    EXPECT_EQ(back, r);
    auto one = decode(R"({"id":0,"resp":[null,"only"]})");
    std::string s;
    ASSERT_TRUE(one.response.result.convert(s));
    EXPECT_EQ(s, "only");
    EXPECT_TRUE(decode(R"({"id":0,"resp":[null]})").response.result.is_nil());
    EXPECT_TRUE(decode(R"({"id":0,"resp":[]})").response.result.is_nil());
}

TEST_F(PomeloProtocol, ErrorsAreWrittenForIfErrAndReadBackWithTheirCode)
{
    mailroom::frame f;
    proto_.encode_error_response(f, 4, error::unknown_method, "unknown method: user.x.toString");
    const auto j = body_of(f);
    EXPECT_EQ(j["id"], 3);
    EXPECT_EQ(j["resp"][0]["stack"], "Error: unknown method: user.x.toString");
    auto m = decode(j.dump());
    EXPECT_EQ(m.response.id, 4u);
    EXPECT_EQ(m.response.code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(m.response.message, "unknown method: user.x.toString");
}

TEST_F(PomeloProtocol, StockErrorsKeepTheirMessage)
{
    auto m = decode(R"({"id":3,"resp":[{"stack":"Error: no such method:noSuchMethod\n    at pro.route"}]})");
    EXPECT_EQ(m.response.id, 4u);
    EXPECT_EQ(m.response.code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(m.response.message, "no such method:noSuchMethod");
    auto dragon = decode(R"({"id":1,"resp":[{"stack":"Error: the dragon\n    at x"}]})");
    EXPECT_EQ(dragon.response.code, static_cast<int>(error::remote_error));
    EXPECT_EQ(dragon.response.message, "the dragon");
    auto text = decode(R"({"id":1,"resp":["plain text"]})");
    EXPECT_EQ(text.response.message, "plain text");
    auto code = decode(R"({"id":1,"resp":[{"code":500}]})");
    EXPECT_EQ(code.response.code, static_cast<int>(error::remote_error));
    EXPECT_EQ(code.response.message, R"({"code":500})");
    for (const char* falsy : {"null", "false", "0", "\"\""}) {
        auto ok = decode(std::string(R"({"id":1,"resp":[)") + falsy + R"(,5]})");
        EXPECT_EQ(ok.response.code, 0) << falsy;
    }
}

TEST_F(PomeloProtocol, MalformedRequestsAreStillAnsweredAndNeverClose)
{
    for (const char* body : {"not json", "5", R"({"id":2})", R"({"id":2,"msg":7})",
                             R"({"id":2,"msg":{"namespace":1,"service":"s","method":"m"}})",
                             R"({"id":-1,"msg":{}})", "1e999", "{\"id\":\"x\"}"}) {
        auto m = decode(body);
        EXPECT_EQ(m.kind, mailroom::protocol::message_kind::request) << body;
        EXPECT_NE(m.request.id, 0u) << body << ": answered";
    }
    EXPECT_EQ(decode(R"({"id":2})").request.id, 3u);
    EXPECT_EQ(decode("not json").request.id, mailroom::pomelo::json_protocol::no_id);
    mailroom::frame f;
    proto_.encode_error_response(f, mailroom::pomelo::json_protocol::no_id, error::unknown_service,
                                 "x");
    EXPECT_FALSE(body_of(f).contains("id")) << "answered without an id, as stock";
    // Arguments that are not an array reach the dispatcher, which names them.
    auto m = decode(R"({"id":0,"msg":{"namespace":"user","service":"s","method":"m","args":5}})");
    EXPECT_FALSE(m.request.args.is_array());
}

TEST_F(PomeloProtocol, NotifiesCarryNoIdAndTheirAnswersMatchNoCall)
{
    mailroom::frame f;
    const auto args = std::make_tuple(1);
    ASSERT_FALSE(proto_.encode_notify(f, {.service = "s", .method = "m"}, mailroom::value_ref(args)));
    EXPECT_FALSE(body_of(f).contains("id"));
    EXPECT_EQ(decode(R"({"resp":[null]})").response.id, mailroom::pomelo::json_protocol::no_id);
}

} // namespace
