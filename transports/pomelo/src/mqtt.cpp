#include <mailroom/pomelo/mqtt.hpp>

namespace mailroom::pomelo::mqtt {

parse_status parse(std::span<const char> in, std::size_t max_body, packet& out,
                   std::size_t& consumed) noexcept
{
    consumed = 0;
    if (in.size() < 2)
        return parse_status::need_more;
    std::size_t length = 0;
    std::size_t i = 1;
    for (unsigned shift = 0;; shift += 7, ++i) {
        if (i == 5)
            return parse_status::malformed; // a fifth length byte (MQTT 3.1.1, 2.2.3)
        if (i >= in.size())
            return parse_status::need_more;
        const auto b = static_cast<unsigned char>(in[i]);
        length |= static_cast<std::size_t>(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    if (length > max_body)
        return parse_status::too_large;
    const std::size_t header = i + 1;
    if (in.size() - header < length) {
        consumed = header + length; // the size to wait for: the read buffer grows to it
        return parse_status::need_more;
    }
    out.first_byte = static_cast<std::uint8_t>(in[0]);
    out.body = in.subspan(header, length);
    consumed = header + length;
    return parse_status::packet;
}

bool publish_payload(const packet& p, std::span<const char>& payload) noexcept
{
    if (p.body.size() < 2)
        return false;
    const std::size_t topic = (static_cast<std::size_t>(static_cast<unsigned char>(p.body[0])) << 8) |
                              static_cast<unsigned char>(p.body[1]);
    std::size_t skip = 2 + topic;
    if ((p.first_byte >> 1) & 0x3) // QoS 1 or 2: a packet identifier follows the topic
        skip += 2;
    if (skip > p.body.size())
        return false;
    payload = p.body.subspan(skip);
    return true;
}

std::size_t publish_header(std::size_t payload_size, char* out) noexcept
{
    std::size_t remaining = 2 + 3 + payload_size;
    if (remaining > max_remaining_length)
        return 0;
    std::size_t n = 0;
    out[n++] = static_cast<char>(0x30); // PUBLISH, QoS 0, no DUP, no RETAIN
    do {
        auto b = static_cast<unsigned char>(remaining & 0x7f);
        remaining >>= 7;
        if (remaining)
            b |= 0x80;
        out[n++] = static_cast<char>(b);
    } while (remaining);
    out[n++] = 0;
    out[n++] = 3;
    out[n++] = 'r';
    out[n++] = 'p';
    out[n++] = 'c';
    return n;
}

std::string connect_packet(std::string_view client_id)
{
    std::string body;
    body.append("\0\4MQTT", 6);
    body.push_back(4);    // protocol level 3.1.1
    body.push_back(0x02); // clean session
    body.append("\0\0", 2); // keepalive 0, as the stock client sends
    body.push_back(static_cast<char>((client_id.size() >> 8) & 0xff));
    body.push_back(static_cast<char>(client_id.size() & 0xff));
    body.append(client_id.substr(0, 0xffff));
    std::string out(1, static_cast<char>(0x10));
    std::size_t remaining = body.size();
    do {
        auto b = static_cast<unsigned char>(remaining & 0x7f);
        remaining >>= 7;
        if (remaining)
            b |= 0x80;
        out.push_back(static_cast<char>(b));
    } while (remaining);
    return out + body;
}

bool is_batch(std::span<const char> payload) noexcept
{
    for (char c : payload) {
        if (detail::is_space(c))
            continue;
        return c == '[';
    }
    return false;
}

} // namespace mailroom::pomelo::mqtt
