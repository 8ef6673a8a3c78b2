// The Redis transport's receive path (transports/redis): the RESP replies a connection
// reads from Redis (reply_reader), and the queue entries a node takes and a caller's reader
// pops (the request and reply envelopes), which anyone who can write to Redis controls.
// Byte 0 picks the decoder; for RESP, bytes 1-2 seed the read sizes and the rest is the
// stream.
// Invariants: an envelope decodes only if it is whole, its views lie inside the entry, and
// it re-encodes to an entry that decodes to the same fields; a RESP stream yields replies
// whose arrays respect the element limit and that re-serialize to RESP parsing back to the
// same reply; a broken stream stays broken; nothing reads past the input.
#include "fuzz_check.hpp"

#include <mailroom/redis/envelope.hpp>
#include <mailroom/redis/reply_reader.hpp>

#include <string>
#include <string_view>

using mailroom::fuzz::touch;
namespace redis = mailroom::redis;

namespace {

constexpr std::size_t max_elements = 64;

std::span<const char> span_of(std::string_view s) { return {s.data(), s.size()}; }

void check_request(std::string_view entry)
{
    auto e = redis::decode_request(entry);
    if (!e)
        return;
    touch(span_of(e->reply_list), span_of(entry));
    touch(e->body, span_of(entry));
    const auto again = redis::encode(*e);
    auto f = redis::decode_request(again);
    MAILROOM_FUZZ_CHECK(f && f->reply_list == e->reply_list && f->deadline_ms == e->deadline_ms &&
                        std::string_view(f->body.data(), f->body.size()) ==
                            std::string_view(e->body.data(), e->body.size()));
}

void check_reply(std::string_view entry)
{
    auto e = redis::decode_reply(entry);
    if (!e)
        return;
    touch(span_of(e->node), span_of(entry));
    touch(e->body, span_of(entry));
    const auto again = redis::encode(*e);
    auto f = redis::decode_reply(again);
    MAILROOM_FUZZ_CHECK(f && f->node == e->node &&
                        std::string_view(f->body.data(), f->body.size()) ==
                            std::string_view(e->body.data(), e->body.size()));
}

void serialize(const redis::reply& r, std::string& out)
{
    using kind = redis::reply::kind;
    switch (r.type) {
    case kind::nil: out += "$-1\r\n"; break;
    case kind::status: out += "+" + r.str + "\r\n"; break;
    case kind::error: out += "-" + r.str + "\r\n"; break;
    case kind::integer: out += ":" + std::to_string(r.integer) + "\r\n"; break;
    case kind::string: out += "$" + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n"; break;
    case kind::array:
        out += "*" + std::to_string(r.elements.size()) + "\r\n";
        for (auto& e : r.elements)
            serialize(e, out);
        break;
    }
}

bool same(const redis::reply& a, const redis::reply& b)
{
    if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
        a.elements.size() != b.elements.size())
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!same(a.elements[i], b.elements[i]))
            return false;
    return true;
}

void check_limits(const redis::reply& r)
{
    MAILROOM_FUZZ_CHECK(r.elements.size() <= max_elements);
    MAILROOM_FUZZ_CHECK(r.type == redis::reply::kind::array || r.elements.empty());
    for (auto& e : r.elements)
        check_limits(e);
}

void check_resp(std::span<const char> stream, std::uint32_t seed)
{
    redis::reply_reader reader(max_elements);
    mailroom::fuzz::rng sizes(seed);
    bool broken = false;
    while (!stream.empty() && !broken) {
        const auto n = std::min<std::size_t>(stream.size(), 1 + sizes.next() % 64);
        if (reader.feed(stream.first(n))) {
            broken = true;
            break;
        }
        stream = stream.subspan(n);
        for (;;) {
            std::error_code ec;
            auto r = reader.next(ec);
            if (ec) {
                MAILROOM_FUZZ_CHECK(!r);
                broken = true;
                break;
            }
            if (!r)
                break;
            check_limits(*r);
            std::string again;
            serialize(*r, again);
            redis::reply_reader second(max_elements);
            MAILROOM_FUZZ_CHECK(!second.feed(span_of(again)));
            std::error_code ec2;
            auto back = second.next(ec2);
            MAILROOM_FUZZ_CHECK(!ec2 && back && same(*back, *r));
        }
    }
    if (broken) {
        // A broken stream stays broken.
        std::error_code ec;
        MAILROOM_FUZZ_CHECK(!reader.next(ec) && ec);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const char* p = reinterpret_cast<const char*>(data);
    switch (data[0] % 3) {
    case 0: check_request({p + 1, size - 1}); break;
    case 1: check_reply({p + 1, size - 1}); break;
    default: check_resp({p + 3, size - 3}, std::uint32_t{data[1]} << 8 | data[2]); break;
    }
    return 0;
}
