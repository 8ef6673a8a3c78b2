#include <mailroom/trace_context.hpp>
// Test that header file is self-contained.

// Trace contexts, and how the native protocol carries them in the request metadata: both
// directions of a mixed cluster (a traced request read by the version-1 rules, an untraced
// one read by this build), the timeout still rewritten in place, and the byte layout.

#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <set>
#include <string>
#include <tuple>

namespace {

using mailroom::frame;
using mailroom::trace_context;
using mailroom::value_ref;
using mailroom::protocol::message;
using mailroom::protocol::message_kind;

const mailroom::protocol::method_path path{.server_type = "chat", .service = "chatRemote",
                                           .method = "add"};

TEST(TraceContext, RootsAreValidAndUnique)
{
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        auto t = trace_context::make_root();
        ASSERT_TRUE(t.valid());
        EXPECT_EQ(t.flags, trace_context::sampled);
        ids.insert(t.trace_id_hex());
    }
    EXPECT_EQ(ids.size(), 1000u);
    EXPECT_FALSE(trace_context{}.valid());
}

TEST(TraceContext, ChildrenKeepTheTraceWithANewSpan)
{
    const auto root = trace_context::make_root();
    const auto child = root.child();
    EXPECT_EQ(child.trace_id, root.trace_id);
    EXPECT_NE(child.span_id, root.span_id);
    EXPECT_EQ(child.flags, root.flags);
    EXPECT_TRUE(trace_context{}.child().valid()) << "no parent: a new trace";
}

TEST(TraceContext, TraceparentRoundTrips)
{
    const std::string text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto t = trace_context::from_traceparent(text);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(t->span_id_hex(), "00f067aa0ba902b7");
    EXPECT_EQ(t->flags, 1);
    EXPECT_EQ(t->traceparent(), text);
    EXPECT_FALSE(trace_context::from_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    EXPECT_FALSE(trace_context::from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(trace_context::from_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(trace_context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    EXPECT_TRUE(trace_context::from_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
}

TEST(TraceContext, ScopesNestAndRestore)
{
    EXPECT_FALSE(mailroom::current_trace().valid());
    const auto a = trace_context::make_root(), b = trace_context::make_root();
    {
        mailroom::trace_scope sa(a);
        EXPECT_EQ(mailroom::current_trace(), a);
        {
            mailroom::trace_scope sb(b);
            EXPECT_EQ(mailroom::current_trace(), b);
        }
        EXPECT_EQ(mailroom::current_trace(), a);
    }
    EXPECT_FALSE(mailroom::current_trace().valid());
}

message decoded(const frame& f, msgpack::zone& zone)
{
    message m;
    EXPECT_FALSE(mailroom::native_protocol()->decode(f.body(), zone, m));
    return m;
}

TEST(TraceCodec, ARequestCarriesItsTraceAndTimeout)
{
    const auto t = trace_context::make_root();
    const auto args = std::tuple{2, 3};
    frame f;
    ASSERT_FALSE(mailroom::native_protocol()->encode_traced_request(f, 7, path, value_ref(args),
                                                                    30'000, t));
    msgpack::zone zone;
    auto m = decoded(f, zone);
    EXPECT_EQ(m.kind, message_kind::request);
    EXPECT_EQ(m.request.id, 7u);
    EXPECT_EQ(m.request.timeout_ms, 30'000u);
    EXPECT_EQ(m.request.trace, t);

    // The station rewrites the time left in place, trace or not.
    ASSERT_TRUE(mailroom::native_protocol()->patch_request_timeout(f, 1234));
    msgpack::zone zone2;
    auto p = decoded(f, zone2);
    EXPECT_EQ(p.request.timeout_ms, 1234u);
    EXPECT_EQ(p.request.trace, t);
}

TEST(TraceCodec, ANotifyCarriesItsTrace)
{
    const auto t = trace_context::make_root();
    const auto args = std::tuple{std::string("x")};
    frame f;
    ASSERT_FALSE(mailroom::native_protocol()->encode_traced_notify(f, path, value_ref(args), t));
    msgpack::zone zone;
    auto m = decoded(f, zone);
    EXPECT_EQ(m.kind, message_kind::notify);
    EXPECT_EQ(m.request.trace, t);
    EXPECT_EQ(m.request.timeout_ms, 0u);
}

TEST(TraceCodec, AnOlderCallersRequestHasNoTrace)
{
    // What a build before traces sends: {0: timeout} alone, and a notify without metadata.
    frame f, n;
    mailroom::protocol::encode_request(f, 1, path, std::tuple{2, 3}, 30'000);
    mailroom::protocol::encode_notify(n, path, std::tuple{});
    msgpack::zone zone;
    auto m = decoded(f, zone);
    EXPECT_EQ(m.request.timeout_ms, 30'000u);
    EXPECT_FALSE(m.request.trace.valid()) << "the callee starts a new trace";
    EXPECT_FALSE(decoded(n, zone).request.trace.valid());
}

// The version-1 rules an older callee applies to request metadata (docs/protocol.md,
// section 3): a map of unsigned keys, key 0 an unsigned timeout, other keys ignored.
bool read_as_version_1(const frame& f, std::uint32_t& timeout_ms)
{
    auto h = msgpack::unpack(f.body().data(), f.body().size());
    const auto& a = h.get();
    if (a.type != msgpack::type::ARRAY || (a.via.array.size != 7 && a.via.array.size != 8) ||
        a.via.array.ptr[6].type != msgpack::type::ARRAY)
        return false;
    if (a.via.array.size == 7)
        return true;
    const auto& meta = a.via.array.ptr[7];
    if (meta.type != msgpack::type::MAP)
        return false;
    for (std::uint32_t i = 0; i < meta.via.map.size; ++i) {
        const auto& kv = meta.via.map.ptr[i];
        if (kv.key.type != msgpack::type::POSITIVE_INTEGER)
            return false;
        if (kv.key.via.u64 == 0) {
            if (kv.val.type != msgpack::type::POSITIVE_INTEGER || kv.val.via.u64 > UINT32_MAX)
                return false;
            timeout_ms = static_cast<std::uint32_t>(kv.val.via.u64);
        }
    }
    return true;
}

TEST(TraceCodec, AnOlderCalleeReadsATracedRequest)
{
    frame f;
    const auto args = std::tuple{1};
    ASSERT_FALSE(mailroom::native_protocol()->encode_traced_request(
        f, 9, path, value_ref(args), 500, trace_context::make_root()));
    std::uint32_t timeout = 0;
    ASSERT_TRUE(read_as_version_1(f, timeout));
    EXPECT_EQ(timeout, 500u);
}

TEST(TraceCodec, ATraceOfAnotherShapeIsIgnored)
{
    // {1: "not a trace", 0: 100}: a later revision's value, not a malformed frame.
    frame f;
    mailroom::protocol::detail::begin_request(f, 3, path, true);
    mailroom::protocol::packer pk(f);
    pk.pack(std::tuple{});
    pk.pack_map(2);
    pk.pack(1);
    pk.pack(std::string("not a trace"));
    pk.pack(0);
    pk.pack(100);
    msgpack::zone zone;
    auto m = decoded(f, zone);
    EXPECT_FALSE(m.request.trace.valid());
    EXPECT_EQ(m.request.timeout_ms, 100u);
}

TEST(TraceCodec, TheMetadataBytesAreAsDocumented)
{
    trace_context t;
    for (std::size_t i = 0; i < 16; ++i)
        t.trace_id[i] = static_cast<std::uint8_t>(0xa0 + i);
    for (std::size_t i = 0; i < 8; ++i)
        t.span_id[i] = static_cast<std::uint8_t>(0xb0 + i);
    t.flags = 1;
    frame f;
    mailroom::protocol::encode_traced_request(f, 1, path, std::tuple{2, 3}, 30'000, t);
    const auto body = f.body();
    const std::string tail(body.end() - 35, body.end());
    std::string expected = "\x82\x01\xc4\x19";
    for (std::size_t i = 0; i < 16; ++i)
        expected += static_cast<char>(0xa0 + i);
    for (std::size_t i = 0; i < 8; ++i)
        expected += static_cast<char>(0xb0 + i);
    expected += std::string("\x01\x00\xce\x00\x00\x75\x30", 7);
    EXPECT_EQ(tail, expected);
    EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x98) << "8 elements, as with a timeout alone";
}

} // namespace
