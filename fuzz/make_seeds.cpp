// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from frames made by
// the real encoders, so that the fuzzers start from inputs a peer would send. Run by hand
// after a wire change: mailroom_fuzz_seeds fuzz/corpus
#include <mailroom/error.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/mqtt.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/redis/envelope.hpp>

#include <msgpack.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace mailroom;
namespace fs = std::filesystem;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, const std::string& bytes)
{
    fs::create_directories(root / target);
    std::ofstream(root / target / name, std::ios::binary) << bytes;
}

std::string body(const frame& f) { return {f.body().data(), f.body().size()}; }

std::string wire(frame& f) { return {f.wire().data(), f.wire().size()}; }

template <class T>
std::string packed(const T& v)
{
    msgpack::sbuffer b;
    msgpack::pack(b, v);
    return {b.data(), b.size()};
}

struct point {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE_MAP(x, y)
};

struct player {
    std::string uid;
    point at;
    std::vector<std::string> said;
    MSGPACK_DEFINE_MAP(uid, at, said)
};

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    root = argv[1];
    const protocol::method_path path{"user", "chat", "room", "join"};

    std::map<std::string, frame> frames;
    protocol::encode_request(frames["request"], 7, path, std::make_tuple(std::string("alice"), 3));
    protocol::encode_request(frames["request_timeout"], 8, path,
                             std::make_tuple(std::vector<int>{1, 2, 3}, 2.5, true), 1500);
    protocol::encode_notify(frames["notify"], path, std::make_tuple(point{1, 2}));
    protocol::encode_response(frames["response"], 7, std::map<std::string, int>{{"a", 1}});
    protocol::encode_void_response(frames["response_void"], 9);
    protocol::encode_error_response(frames["response_error"], 10, error::unknown_method,
                                    "no method chat.room.leave");
    protocol::encode_ping(frames["ping"], 42);
    protocol::encode_pong(frames["pong"], 42);
    protocol::encode_hello(frames["hello"], "connector-1");
    protocol::encode_hello_ack(frames["hello_ack"], "chat-1");
    protocol::encode_hello_ack(frames["hello_ack_refused"], "chat-1", error::version_mismatch,
                               "version 2 is not spoken here");
    // Version 2: the authenticated handshake (fixed bytes stand for nonces and proofs).
    const std::string nonce(32, '\x5a');
    const auto handshake = [&](const char* name, protocol::message_kind kind, protocol::hello_view h) {
        protocol::encode_handshake(frames[name], kind, h);
    };
    handshake("hello_auth", protocol::message_kind::hello,
              {.version = 2, .peer_id = "connector-1", .nonce = nonce});
    handshake("challenge", protocol::message_kind::challenge, {.peer_id = "chat-1", .nonce = nonce});
    handshake("proof", protocol::message_kind::proof, {.proof = nonce});
    handshake("hello_ack_proof", protocol::message_kind::hello_ack,
              {.version = 2, .peer_id = "chat-1", .proof = nonce});

    std::string stream;
    for (auto& [name, f] : frames) {
        write("codec", name, body(f));
        stream += wire(f);
    }
    const std::string first = wire(frames["hello"]) + wire(frames["request"]);

    // frame_parser: limits and read pattern (4 bytes), then the stream a peer sends.
    write("frame_parser", "stream_default_limit", std::string("\xff\x20\x00\x07", 4) + stream);
    write("frame_parser", "stream_small_reads", std::string("\x60\x02\x01\x03", 4) + first);
    write("frame_parser", "too_large", std::string("\x02\x20\x00\x01", 4) + first);

    // ws_batch: max_frame_size (2 bytes), then one batch message.
    write("ws_batch", "batch", std::string("\x0f\xff", 2) + stream);
    write("ws_batch", "one_frame", std::string("\x0f\xff", 2) + wire(frames["ping"]));
    write("ws_batch", "truncated", std::string("\x0f\xff", 2) + first.substr(0, first.size() - 3));

    // values: 0 + msgpack arguments, 1 + JSON arguments.
    const std::string mp(1, '\0'), js(1, '\1');
    write("values", "string_int", mp + packed(std::make_tuple(std::string("alice"), 3)));
    write("values", "u64_double_bool", mp + packed(std::make_tuple(std::uint64_t{1} << 40, 2.5, true)));
    write("values", "vector", mp + packed(std::make_tuple(std::vector<int>{1, -2, 3})));
    write("values", "map", mp + packed(std::make_tuple(std::map<std::string, int>{{"hp", 10}})));
    write("values", "point", mp + packed(std::make_tuple(point{3, 4})));
    write("values", "player", mp + packed(std::make_tuple(std::string("r1"),
        player{"u", {1, 2}, {"hi"}})));
    write("values", "json_string_int", js + R"(["alice",3])");
    write("values", "json_point", js + R"([{"x":1,"y":2}])");
    write("values", "json_player", js + R"(["r1",{"uid":"u","at":{"x":1,"y":2},"said":["hi"]}])");
    write("values", "json_numbers", js + R"([18446744073709551615,-1.5e300,true])");

    // servers_json: environment (0: development), then the file.
    write("servers_json", "chat", std::string(1, '\0') + R"({
  "development": {
    "connector": [{"id": "connector-1", "host": "127.0.0.1", "port": 3150, "clientPort": 3010, "frontend": true}],
    "chat": [{"id": "chat-1", "host": "127.0.0.1", "port": 3151, "transport": "ws", "weight": 2}]
  },
  "production": {"chat": [{"id": "chat-1", "host": "10.0.0.2", "port": 3151}]}
})");
    // pomelo: the largest packet body (2 bytes), then MQTT packets as a stock client writes
    // them: CONNECT, PUBLISHes (a request, a batch, an answer), PINGREQ.
    {
        const auto publish = [](const std::string& payload) {
            char h[pomelo::mqtt::max_publish_header];
            const auto n = pomelo::mqtt::publish_header(payload.size(), h);
            return std::string(h, n) + payload;
        };
        const pomelo::json_protocol p;
        frame req, err;
        const auto args = std::make_tuple(std::string("hello, mailroom"), 3);
        (void)p.encode_request(req, 1, {.ns = "user", .server_type = "echo",
                                        .service = "echoRemote", .method = "echo"},
                               value_ref(args), 0);
        p.encode_error_response(err, 4, error::unknown_method, "no such method:x");
        const std::string limit("\x1f\xff", 2);
        const std::string ping(pomelo::mqtt::pingreq, 2);
        write("pomelo", "session", limit + pomelo::mqtt::connect_packet("MQTT_RPC_1796425186229") +
                                       publish(body(req)) + ping);
        write("pomelo", "batch", limit + publish("[" + body(req) + "," + body(req) +
                                                 R"(,{"id":9,"msg":7}])"));
        write("pomelo", "answers", limit + publish(R"({"id":0,"resp":[null,"a",2]})") +
                                       publish(body(err)) + publish(R"([{"resp":[null]}])"));
    }
    write("servers_json", "bad_port", std::string(1, '\0') +
          R"({"development": {"chat": [{"id": "c", "host": "h", "port": 70000}]}})");
    {
        // The Redis transport: byte 0 picks the decoder (0 request entry, 1 reply entry,
        // 2 RESP stream with bytes 1-2 seeding the read sizes).
        frame req, resp;
        protocol::encode_request(req, 7, {.server_type = "chat", .service = "chatRemote",
                                          .method = "add"},
                                 std::make_tuple(std::string("alice"), 1));
        protocol::encode_response(resp, 7, std::string("ok"));
        write("redis", "request", std::string(1, '\0') +
                                      redis::encode(redis::request_envelope{
                                          .reply_list = "mailroom:{caller}:r",
                                          .deadline_ms = 1700000000000,
                                          .body = req.body()}));
        write("redis", "reply", std::string(1, '\1') +
                                    redis::encode(redis::reply_envelope{.node = "chat-1",
                                                                        .body = resp.body()}));
        write("redis", "resp", std::string("\2\x12\x34") + "+OK\r\n:3\r\n$-1\r\n" +
                                   "*2\r\n$19\r\nmailroom:{caller}:r\r\n$5\r\nhello\r\n" +
                                   "-ERR wrong type\r\n*3\r\n*0\r\n*-1\r\n*1\r\n:1\r\n");
    }
    return 0;
}
