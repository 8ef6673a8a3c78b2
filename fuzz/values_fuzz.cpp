// The conversion a server runs on the arguments of a request it decoded
// (value_view::convert through detail::convert_args, include/mailroom/server/detail/bind.hpp)
// into parameter tuples typical of remotes. Byte 0 picks the format: even, the rest is a
// msgpack array decoded by the native codec as a request's arguments; odd, a JSON document
// (the values of a JSON protocol).
// Invariants: a conversion fails (with a reason naming the argument) or succeeds; a value
// that converted, packed again and converted back, packs to the same bytes.
#include "fuzz_check.hpp"

#include <mailroom/protocol/codec.hpp>
#include <mailroom/server/detail/bind.hpp>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

using namespace mailroom;

namespace {

struct point {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE_MAP(x, y)
};
/// An int field as a careful from_json reads it: nlohmann's get<int> of a float out of int's
/// range is undefined behaviour (a static_cast), so anything but an integer in range is
/// refused with nlohmann's own type_error, as a string would be.
int int_field(const nlohmann::json& v)
{
    if (v.is_number_integer()) {
        const auto n = v.get<std::int64_t>();
        if (n >= std::numeric_limits<int>::min() && n <= std::numeric_limits<int>::max())
            return static_cast<int>(n);
    }
    (void)v.get<std::string>(); // throws type_error for every number
    return 0;
}

void from_json(const nlohmann::json& j, point& p)
{
    p.x = int_field(j.at("x"));
    p.y = int_field(j.at("y"));
}

struct player {
    std::string uid;
    point at;
    std::vector<std::string> said;
    MSGPACK_DEFINE_MAP(uid, at, said)
};
void from_json(const nlohmann::json& j, player& p)
{
    j.at("uid").get_to(p.uid);
    j.at("at").get_to(p.at);
    j.at("said").get_to(p.said);
}

/// The arguments, as the native codec hands them to the server: a request's args, which
/// point into `f` and `zone`.
bool decode_args(std::span<const char> bytes, frame& f, msgpack::zone& zone, value_view& out)
{
    protocol::detail::begin_request(f, 1, {"user", "area", "svc", "m"}, false);
    f.write(bytes.data(), bytes.size());
    protocol::message m;
    if (protocol::decode(f.body(), zone, m))
        return false;
    out = m.request.args;
    return true;
}

template <class Tuple>
std::string pack_tuple(const Tuple& t)
{
    msgpack::sbuffer b;
    msgpack::pack(b, t);
    return {b.data(), b.size()};
}

/// Converts `args` into `Tuple`; on success, checks the round trip.
template <class Tuple>
void try_convert(const value_view& args)
{
    Tuple values;
    std::string why;
    constexpr auto n = std::tuple_size_v<Tuple>;
    if (!detail::convert_args(args, values, std::make_index_sequence<n>{}, why)) {
        MAILROOM_FUZZ_CHECK(!why.empty());
        return;
    }
    // Packed again (as a caller's stub packs them) and read back as a server does.
    const std::string packed = pack_tuple(values);
    frame f;
    msgpack::zone zone;
    value_view again;
    MAILROOM_FUZZ_CHECK(decode_args(packed, f, zone, again));
    Tuple back;
    MAILROOM_FUZZ_CHECK(detail::convert_args(again, back, std::make_index_sequence<n>{}, why));
    MAILROOM_FUZZ_CHECK(pack_tuple(back) == packed);
}

void convert_all(const value_view& args)
{
    try_convert<std::tuple<>>(args);
    try_convert<std::tuple<int>>(args);
    try_convert<std::tuple<std::string, int>>(args);
    try_convert<std::tuple<std::uint64_t, double, bool>>(args);
    try_convert<std::tuple<std::int8_t, std::uint16_t, float>>(args);
    try_convert<std::tuple<std::vector<int>>>(args);
    try_convert<std::tuple<std::map<std::string, int>>>(args);
    try_convert<std::tuple<std::string, std::vector<std::string>>>(args);
    try_convert<std::tuple<std::optional<int>, std::string>>(args);
    try_convert<std::tuple<point>>(args);
    try_convert<std::tuple<std::string, player>>(args);
    try_convert<std::tuple<std::vector<char>>>(args);
    try_convert<std::tuple<std::vector<point>, std::int64_t>>(args);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const std::span<const char> rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        frame f;
        msgpack::zone zone;
        value_view args;
        if (decode_args(rest, f, zone, args))
            convert_all(args);
    } else {
        // A JSON protocol's decoder hands over a parsed document (no exceptions here: a
        // document that does not parse never reaches the conversion).
        auto doc = nlohmann::json::parse(rest.begin(), rest.end(), nullptr, false);
        if (!doc.is_discarded())
            convert_all(value_view(doc));
    }
    return 0;
}
