// The WebSocket batch framing (transports/ws/src/batch_codec.cpp) on a received message:
// bytes 0-1 choose max_frame_size, the rest is the message.
// Invariants: decode_batch fails with frame_too_large or truncated_frame and no bodies, or
// returns bodies inside the message, each within the limit, that put back with their
// prefixes are the message itself; plan_messages on those frames gives messages that
// decode to the same bodies (batches within batch_message_max unless one frame is larger).
#include "fuzz_check.hpp"

#include "batch_codec.hpp"

#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace mailroom::ws::detail;
using mailroom::fuzz::touch;

namespace {

std::string with_prefixes(const std::vector<std::span<const char>>& bodies)
{
    std::string out;
    for (auto b : bodies) {
        const auto n = static_cast<std::uint32_t>(b.size());
        const char prefix[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
        out.append(prefix, 4);
        out.append(b.data(), b.size());
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    const std::size_t max_frame = (std::size_t{data[0]} << 8 | data[1]) % 4096;
    const std::span<const char> message(reinterpret_cast<const char*>(data) + 2, size - 2);

    std::vector<std::span<const char>> bodies{message}; // cleared by the decoder
    const auto ec = decode_batch(message, max_frame, bodies);
    if (ec) {
        MAILROOM_FUZZ_CHECK(ec == mailroom::error::frame_too_large ||
                            ec == mailroom::ws::ws_error::truncated_frame);
        MAILROOM_FUZZ_CHECK(bodies.empty());
        return 0;
    }
    for (auto b : bodies) {
        touch(b, message);
        MAILROOM_FUZZ_CHECK(b.size() <= max_frame);
    }
    const std::string wire = with_prefixes(bodies);
    MAILROOM_FUZZ_CHECK(wire.size() == message.size() &&
                        (wire.empty() || std::memcmp(wire.data(), message.data(), wire.size()) == 0));

    // The sender's side on the same frames, with and without batches.
    for (bool batch : {true, false}) {
        std::vector<std::span<const char>> planned;
        plan_messages(message, batch, planned);
        std::vector<std::span<const char>> again;
        for (auto m : planned) {
            touch(m, message);
            if (!batch) {
                again.push_back(m);
                continue;
            }
            MAILROOM_FUZZ_CHECK(m.size() <= batch_message_max ||
                                m.size() == 4 + ((std::size_t(std::uint8_t(m[0])) << 24) |
                                                 (std::size_t(std::uint8_t(m[1])) << 16) |
                                                 (std::size_t(std::uint8_t(m[2])) << 8) |
                                                 std::size_t(std::uint8_t(m[3]))));
            std::vector<std::span<const char>> part;
            MAILROOM_FUZZ_CHECK(!decode_batch(m, max_frame, part));
            MAILROOM_FUZZ_CHECK(!part.empty());
            again.insert(again.end(), part.begin(), part.end());
        }
        MAILROOM_FUZZ_CHECK(again.size() == bodies.size());
        for (std::size_t i = 0; i < bodies.size(); ++i)
            MAILROOM_FUZZ_CHECK(again[i].data() == bodies[i].data() &&
                                again[i].size() == bodies[i].size());
    }
    return 0;
}
