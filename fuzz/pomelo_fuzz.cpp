// The pomelo transport's receive path (transports/pomelo): MQTT packets as the link parses
// them, PUBLISH payloads split into their JSON messages, each decoded by the JSON protocol.
// Bytes 0-1 choose the largest packet body, the rest is the byte stream.
// Invariants: parse consumes whole packets that lie inside the input, within the limit;
// payloads and batch elements lie inside their packet, elements are non-empty and trimmed;
// decode never fails and never yields id 0 for a request (every request is answered; a
// notify does not exist in pomelo-rpc); the answers the server would write for what it
// decoded are JSON objects with a `resp` array.
#include "fuzz_check.hpp"

#include <mailroom/error.hpp>
#include <mailroom/pomelo/json_protocol.hpp>
#include <mailroom/pomelo/mqtt.hpp>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace mqtt = mailroom::pomelo::mqtt;
using mailroom::fuzz::touch;

namespace {

const mailroom::pomelo::json_protocol proto;

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void check_answer(const mailroom::frame& f)
{
    const auto j = nlohmann::json::parse(f.body().begin(), f.body().end(), nullptr, false);
    MAILROOM_FUZZ_CHECK(j.is_object() && j.contains("resp") && j["resp"].is_array());
}

void message(std::span<const char> body, std::span<const char> within)
{
    touch(body, within);
    msgpack::zone zone;
    mailroom::protocol::message m;
    const auto ec = proto.decode(body, zone, m);
    MAILROOM_FUZZ_CHECK(!ec);
    if (m.kind == mailroom::protocol::message_kind::request) {
        MAILROOM_FUZZ_CHECK(m.request.id != 0);
        (void)m.request.args.size();
        mailroom::frame out;
        proto.encode_error_response(out, m.request.id, mailroom::error::unknown_service,
                                    std::string(m.request.path.ns) + "." +
                                        std::string(m.request.path.service));
        check_answer(out);
    } else {
        MAILROOM_FUZZ_CHECK(m.kind == mailroom::protocol::message_kind::response);
        MAILROOM_FUZZ_CHECK(m.response.id != 0);
        MAILROOM_FUZZ_CHECK(m.response.code >= 0);
        MAILROOM_FUZZ_CHECK(m.response.code != 0 || m.response.message.empty());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    const std::size_t max_body = (std::size_t{data[0]} << 8 | data[1]) % 8192;
    std::span<const char> in(reinterpret_cast<const char*>(data) + 2, size - 2);
    const auto input = in;
    while (!in.empty()) {
        mqtt::packet p;
        std::size_t used = 0;
        const auto st = mqtt::parse(in, max_body, p, used);
        if (st != mqtt::parse_status::packet) {
            MAILROOM_FUZZ_CHECK(st != mqtt::parse_status::need_more || used == 0 ||
                                used > in.size());
            break;
        }
        MAILROOM_FUZZ_CHECK(used >= 2 && used <= in.size() && p.body.size() <= max_body);
        touch(p.body, in.first(used));
        std::span<const char> payload;
        if (p.type() == mqtt::packet_type::publish && mqtt::publish_payload(p, payload)) {
            touch(payload, p.body);
            if (mqtt::is_batch(payload)) {
                bool any = false;
                const bool whole = mqtt::split_array(payload, [&](std::span<const char> e) {
                    MAILROOM_FUZZ_CHECK(!e.empty() && !space(e.front()) && !space(e.back()));
                    any = true;
                    message(e, payload);
                });
                if (!whole && !any)
                    message(payload, payload);
            } else {
                message(payload, payload);
            }
        }
        in = in.subspan(used);
    }
    (void)input;
    return 0;
}
