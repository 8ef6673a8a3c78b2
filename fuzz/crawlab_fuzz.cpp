// Crawlab mode of the Redis transport (transports/redis/src/crawlab_message.cpp): the JSON
// messages a node takes from `<prefix>:<node>` and a caller pops from `<prefix>:<node>:<id>`,
// which anyone who can write to Redis controls.
// Invariants: decode never throws; it fails with a reason, or succeeds and the message
// re-encodes to text that decodes to the same fields; an id it reports is non-empty; a
// timeout lies in [0, max_timeout]; a decoded method maps to a remote only with non-empty
// parts, and that remote maps back to a method naming the same remote.
#include "fuzz_check.hpp"

#include <mailroom/redis/crawlab_message.hpp>

#include <string_view>

namespace crawlab = mailroom::redis::crawlab;

namespace {

bool same(const crawlab::message& a, const crawlab::message& b)
{
    return a.id == b.id && a.method == b.method && a.node_id == b.node_id &&
           a.params == b.params && a.timeout == b.timeout && a.result == b.result &&
           a.error == b.error;
}

void check_method(const std::string& method)
{
    auto p = crawlab::to_path(method, "crawlab");
    if (!p)
        return;
    MAILROOM_FUZZ_CHECK(!p->ns.empty() && !p->service.empty() && !p->method.empty());
    const auto back = crawlab::to_method(*p, "crawlab"); // the views below point into it
    auto again = crawlab::to_path(back, "crawlab");
    MAILROOM_FUZZ_CHECK(again && again->ns == p->ns && again->service == p->service &&
                        again->method == p->method);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    crawlab::message m;
    const auto problem = crawlab::decode(text, m);
    if (!problem.empty()) {
        MAILROOM_FUZZ_CHECK(m.params.empty() || !m.id.empty());
        return 0;
    }
    MAILROOM_FUZZ_CHECK(!m.id.empty() && m.timeout >= 0 && m.timeout <= crawlab::max_timeout);
    crawlab::message back;
    MAILROOM_FUZZ_CHECK(crawlab::decode(crawlab::encode(m), back).empty());
    MAILROOM_FUZZ_CHECK(same(m, back));
    check_method(m.method);
    return 0;
}
