#include <mailroom/server/dispatcher.hpp>
// Test that header file is self-contained.

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server/call_context.hpp>
#include <mailroom/server/responder.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <msgpack.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace protocol = mailroom::protocol;
using mailroom::call_context;
using mailroom::error;
using mailroom::responder;

/// A connection that records the body of every frame sent on it.
class recording_connection final : public mailroom::connection
{
public:
    void send(mailroom::frame f) override { sent.emplace_back(f.body().begin(), f.body().end()); }
    void close() override { ++closes; }
    std::string remote_address() const override { return "fake:1"; }

    std::vector<std::vector<char>> sent;
    int closes = 0;
};

/// A decoded response, owning its result.
struct reply
{
    std::uint64_t id = 0;
    int code = 0;
    std::string message;
    msgpack::object_handle result;
};

reply decode_reply(const std::vector<char>& body)
{
    msgpack::zone zone;
    protocol::message m;
    const std::error_code ec = protocol::decode(body, zone, m);
    EXPECT_FALSE(ec) << "the responder sent a malformed frame: " << ec.message();
    EXPECT_EQ(m.kind, protocol::message_kind::response);
    return {m.response.id, m.response.code, std::string(m.response.message),
            msgpack::clone(m.response.result.msgpack())};
}

/// The arguments of a call, as the session hands them to the dispatcher.
template <class... T> msgpack::object_handle args_of(const T&... v)
{
    msgpack::sbuffer buf;
    msgpack::pack(buf, std::make_tuple(v...));
    return msgpack::unpack(buf.data(), buf.size());
}

msgpack::object_handle packed_value(const auto& v)
{
    msgpack::sbuffer buf;
    msgpack::pack(buf, v);
    return msgpack::unpack(buf.data(), buf.size());
}

int twice(int x)
{
    return 2 * x;
}
int thrice(int x) noexcept
{
    return 3 * x;
}

struct joiner
{
    std::string operator()(const std::string& a, const std::string& b) const { return a + b; }
};

class Dispatcher : public ::testing::Test
{
protected:
    static call_context context(std::string_view service, std::string_view method,
                                std::uint64_t id = 1, std::string_view ns = "user")
    {
        call_context ctx;
        ctx.caller_id = "gate-1";
        ctx.request_id = id;
        ctx.path = {.ns = ns, .server_type = "calc", .service = service, .method = method};
        return ctx;
    }

    /// Dispatches a request with id `id`; its answer goes to `conn`.
    void call(std::string_view service, std::string_view method, const msgpack::object& args,
              std::uint64_t id = 1, std::string_view ns = "user")
    {
        d.dispatch(context(service, method, id, ns), mailroom::value_view(args), responder(conn, id));
    }

    void notify(std::string_view service, std::string_view method, const msgpack::object& args)
    {
        d.dispatch(context(service, method, 0), mailroom::value_view(args), responder());
    }

    /// The one reply sent so far.
    reply only_reply()
    {
        EXPECT_EQ(conn->sent.size(), 1u);
        if (conn->sent.empty())
            return {};
        return decode_reply(conn->sent.front());
    }

    std::shared_ptr<recording_connection> conn = std::make_shared<recording_connection>();
    mailroom::dispatcher d;
};

// --- typed binding -------------------------------------------------------------------------

TEST_F(Dispatcher, RunsATypedHandlerAndAnswersItsResult)
{
    d.add("calc", "add", [](int a, int b) { return a + b; });
    call("calc", "add", args_of(2, 3).get(), 7);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 7u);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.message, "");
    EXPECT_EQ(r.result->as<int>(), 5);
    EXPECT_EQ(conn->closes, 0);
}

TEST_F(Dispatcher, RunsAStringHandler)
{
    d.add("echo", "upper", [](std::string s) {
        for (auto& c : s)
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        return s;
    });
    call("echo", "upper", args_of(std::string("hello")).get(), 3);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 3u);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.result->as<std::string>(), "HELLO");
}

TEST_F(Dispatcher, AnswersNilForAVoidHandler)
{
    int seen = 0;
    d.add("calc", "store", [&seen](int x) { seen = x; });
    call("calc", "store", args_of(41).get(), 9);
    EXPECT_EQ(seen, 41);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 9u);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.result->type, msgpack::type::NIL);
}

TEST_F(Dispatcher, GivesAHandlerTheCallContext)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    call_context seen;
    std::string caller, ns, type, service, method;
    d.add("calc", "who", [&](const call_context& ctx, int x) {
        seen = ctx;
        caller = ctx.caller_id;
        ns = ctx.path.ns;
        type = ctx.path.server_type;
        service = ctx.path.service;
        method = ctx.path.method;
        return x + 1;
    });
    call_context ctx = context("calc", "who", 11);
    ctx.deadline = deadline;
    d.dispatch(ctx, mailroom::value_view(args_of(1).get()), responder(conn, 11));
    EXPECT_EQ(caller, "gate-1");
    EXPECT_EQ(seen.request_id, 11u);
    EXPECT_FALSE(seen.is_notify());
    EXPECT_EQ(seen.deadline, deadline);
    EXPECT_EQ(ns, "user");
    EXPECT_EQ(type, "calc");
    EXPECT_EQ(service, "calc");
    EXPECT_EQ(method, "who");
    EXPECT_EQ(only_reply().result->as<int>(), 2);
}

TEST_F(Dispatcher, RunsAHandlerThatTakesOnlyTheCallContext)
{
    d.add("calc", "id", [](const call_context& ctx) { return ctx.request_id; });
    call("calc", "id", args_of().get(), 123);
    EXPECT_EQ(only_reply().result->as<std::uint64_t>(), 123u);
}

TEST_F(Dispatcher, BindsFunctionPointersAndFunctors)
{
    d.add("calc", "twice", &twice);
    d.add("calc", "thrice", thrice);
    d.add("text", "join", joiner{});
    call("calc", "twice", args_of(4).get(), 1);
    call("calc", "thrice", args_of(4).get(), 2);
    call("text", "join", args_of(std::string("ab"), std::string("cd")).get(), 3);
    ASSERT_EQ(conn->sent.size(), 3u);
    EXPECT_EQ(decode_reply(conn->sent[0]).result->as<int>(), 8);
    EXPECT_EQ(decode_reply(conn->sent[1]).result->as<int>(), 12);
    EXPECT_EQ(decode_reply(conn->sent[2]).result->as<std::string>(), "abcd");
}

TEST_F(Dispatcher, BindsMoveOnlyAndMutableCallables)
{
    d.add("calc", "boxed", [p = std::make_unique<int>(5)](int x) { return *p + x; });
    d.add("calc", "count", [n = 0]() mutable { return ++n; });
    call("calc", "boxed", args_of(1).get(), 1);
    call("calc", "count", args_of().get(), 2);
    call("calc", "count", args_of().get(), 3);
    ASSERT_EQ(conn->sent.size(), 3u);
    EXPECT_EQ(decode_reply(conn->sent[0]).result->as<int>(), 6);
    EXPECT_EQ(decode_reply(conn->sent[1]).result->as<int>(), 1);
    EXPECT_EQ(decode_reply(conn->sent[2]).result->as<int>(), 2);
}

TEST_F(Dispatcher, AnswersContainerResults)
{
    d.add("calc", "split", [](std::string s) {
        return std::map<std::string, int>{{s, static_cast<int>(s.size())}, {"x", 0}};
    });
    call("calc", "split", args_of(std::string("abc")).get());
    EXPECT_EQ((only_reply().result->as<std::map<std::string, int>>()),
              (std::map<std::string, int>{{"abc", 3}, {"x", 0}}));
}

// --- lookup errors -------------------------------------------------------------------------

TEST_F(Dispatcher, AnswersUnknownServiceForAnUnboundService)
{
    d.add("calc", "add", [](int a, int b) { return a + b; });
    call("nosvc", "add", args_of(1, 2).get(), 4);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 4u);
    EXPECT_EQ(r.code, static_cast<int>(error::unknown_service));
    EXPECT_EQ(r.message, "unknown service: user.nosvc");
    EXPECT_EQ(r.result->type, msgpack::type::NIL);
}

TEST_F(Dispatcher, AnswersUnknownMethodForAnUnboundMethod)
{
    d.add("calc", "add", [](int a, int b) { return a + b; });
    call("calc", "sub", args_of(1, 2).get(), 5);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 5u);
    EXPECT_EQ(r.code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(r.message, "unknown method: user.calc.sub");
}

TEST_F(Dispatcher, AnswersTheWorkedExampleUnknownMethodByteForByte)
{
    // docs/protocol.md section 5.
    d.add("chatRemote", "kick", [](int) {});
    call("chatRemote", "add", args_of(2, 3).get(), 1);
    ASSERT_EQ(conn->sent.size(), 1u);
    const std::string_view text = "unknown method: user.chatRemote.add";
    std::vector<char> expected{'\x95', '\x03', '\x01', '\x08', '\xd9', '\x23'};
    expected.insert(expected.end(), text.begin(), text.end());
    expected.push_back('\xc0');
    EXPECT_EQ(conn->sent[0], expected);
}

TEST_F(Dispatcher, LooksMethodsUpInTheirNamespace)
{
    const auto stop = [] { return true; };
    d.add("admin", "stop", stop, "sys");
    call("admin", "stop", args_of().get(), 1, "user");
    call("admin", "stop", args_of().get(), 2, "sys");
    ASSERT_EQ(conn->sent.size(), 2u);
    EXPECT_EQ(decode_reply(conn->sent[0]).code, static_cast<int>(error::unknown_service));
    const reply ok = decode_reply(conn->sent[1]);
    EXPECT_EQ(ok.code, 0);
    EXPECT_TRUE(ok.result->as<bool>());
}

TEST_F(Dispatcher, FindsNamesLongerThanTheLookupBuffer)
{
    const std::string ns(100, 'n');
    const std::string service(200, 's');
    const auto one = [] { return 1; };
    d.add(service, "m", one, ns);
    mailroom::raw_handler h;
    EXPECT_FALSE(d.find({.ns = ns, .server_type = "", .service = service, .method = "m"}, h));
    EXPECT_TRUE(static_cast<bool>(h));
    EXPECT_EQ(d.find({.ns = ns, .server_type = "", .service = service, .method = "x"}, h),
              error::unknown_method);
    EXPECT_EQ(d.find({.ns = ns, .server_type = "", .service = service + "s", .method = "m"}, h),
              error::unknown_service);
}

TEST_F(Dispatcher, FindReportsWhatIsMissing)
{
    d.add("calc", "add", [](int a, int b) { return a + b; });
    mailroom::raw_handler h;
    EXPECT_EQ(d.find({.ns = "user", .server_type = "", .service = "x", .method = "add"}, h),
              error::unknown_service);
    EXPECT_FALSE(static_cast<bool>(h));
    EXPECT_EQ(d.find({.ns = "user", .server_type = "", .service = "calc", .method = "x"}, h),
              error::unknown_method);
    EXPECT_FALSE(
        d.find({.ns = "user", .server_type = "any", .service = "calc", .method = "add"}, h));
    EXPECT_TRUE(static_cast<bool>(h));
}

// --- argument conversion -------------------------------------------------------------------

TEST_F(Dispatcher, AnswersBadArgumentsForTheWrongArgumentCount)
{
    int runs = 0;
    d.add("calc", "add", [&runs](int a, int b) {
        ++runs;
        return a + b;
    });
    call("calc", "add", args_of(1).get(), 1);
    call("calc", "add", args_of(1, 2, 3).get(), 2);
    call("calc", "add", args_of().get(), 3);
    EXPECT_EQ(runs, 0);
    ASSERT_EQ(conn->sent.size(), 3u);
    const char* const says[] = {"expected 2 arguments, got 1", "expected 2 arguments, got 3",
                                "expected 2 arguments, got 0"};
    for (std::size_t i = 0; i < 3; ++i) {
        const reply r = decode_reply(conn->sent[i]);
        EXPECT_EQ(r.id, i + 1);
        EXPECT_EQ(r.code, static_cast<int>(error::bad_arguments)) << i;
        EXPECT_EQ(r.message, says[i]) << i; // the message says what did not match
    }
}

TEST_F(Dispatcher, AnswersBadArgumentsForTheWrongArgumentType)
{
    int runs = 0;
    d.add("calc", "add", [&runs](int a, int b) {
        ++runs;
        return a + b;
    });
    d.add("echo", "upper", [&runs](std::string s) {
        ++runs;
        return s;
    });
    call("calc", "add", args_of(std::string("1"), 2).get(), 1);
    call("calc", "add", args_of(1.5, 2).get(), 2);
    call("calc", "add", args_of(std::int64_t{1} << 40, 2).get(), 3); // out of int range
    call("calc", "add", args_of(msgpack::type::nil_t{}, 2).get(), 4);
    call("echo", "upper", args_of(5).get(), 5);
    call("echo", "upper", packed_value(5).get(), 6); // not an array at all
    EXPECT_EQ(runs, 0);
    ASSERT_EQ(conn->sent.size(), 6u);
    for (std::size_t i = 0; i < conn->sent.size(); ++i)
        EXPECT_EQ(decode_reply(conn->sent[i]).code, static_cast<int>(error::bad_arguments)) << i;
    EXPECT_EQ(decode_reply(conn->sent[0]).message, "argument 1 of 2: expected int, got a string");
    EXPECT_EQ(decode_reply(conn->sent[4]).message,
              "argument 1 of 1: expected std::string, got a non-negative integer");
    EXPECT_EQ(decode_reply(conn->sent[5]).message, "expected an array of 1 arguments, got a "
                                                   "non-negative integer");
}

TEST_F(Dispatcher, ConvertsArgumentsToConstReferenceParameters)
{
    d.add("text", "len",
          [](const std::string& s, const std::vector<int>& v) { return s.size() + v.size(); });
    call("text", "len", args_of(std::string("abc"), std::vector<int>{1, 2}).get());
    EXPECT_EQ(only_reply().result->as<std::size_t>(), 5u);
}

// --- handler failures ----------------------------------------------------------------------

TEST_F(Dispatcher, TurnsAThrowingHandlerIntoRemoteErrorWithItsMessage)
{
    d.add("calc", "fail", [](int) -> int { throw std::runtime_error("boom"); });
    call("calc", "fail", args_of(1).get(), 8);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 8u);
    EXPECT_EQ(r.code, static_cast<int>(error::remote_error));
    EXPECT_EQ(r.message, "boom");
    EXPECT_EQ(r.result->type, msgpack::type::NIL);
}

TEST_F(Dispatcher, TurnsANonStandardExceptionIntoRemoteError)
{
    d.add("calc", "fail", [] { throw 42; });
    call("calc", "fail", args_of().get());
    const reply r = only_reply();
    EXPECT_EQ(r.code, static_cast<int>(error::remote_error));
    EXPECT_EQ(r.message, "unknown exception");
}

TEST_F(Dispatcher, AnswersRemoteErrorWhenARawHandlerDropsItsResponder)
{
    d.add_raw("user", "calc", "forget",
              [](const call_context&, const mailroom::value_view&, responder) {});
    call("calc", "forget", args_of().get(), 6);
    const reply r = only_reply();
    EXPECT_EQ(r.id, 6u);
    EXPECT_EQ(r.code, static_cast<int>(error::remote_error));
    EXPECT_EQ(r.message, "the handler dropped the call without answering");
}

TEST_F(Dispatcher, ARawHandlerWrittenForMsgpackArgumentsStillBindsAndRefusesJson)
{
    d.add_raw("user", "calc", "sum", [](const call_context&, const msgpack::object& args,
                                        responder r) {
        r.send(args.via.array.ptr[0].as<int>() + args.via.array.ptr[1].as<int>());
    });
    call("calc", "sum", args_of(2, 3).get(), 8);
    const reply r = only_reply();
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.result.get().as<int>(), 5);

    conn->sent.clear();
    const auto json_args = nlohmann::json::array({2, 3});
    d.dispatch(context("calc", "sum", 9), mailroom::value_view(json_args), responder(conn, 9));
    const reply j = only_reply();
    EXPECT_EQ(j.code, static_cast<int>(error::bad_arguments));
    EXPECT_EQ(j.message, "this method takes msgpack arguments");
}

// A handler that fails with the code of its own downstream call (its link to a third server)
// must not tell its caller that the caller's link dropped: such codes travel as remote_error
// with their message. Codes about the callee itself travel as they are.
TEST_F(Dispatcher, AnswersADownstreamCallFailureAsRemoteErrorWithItsMessage)
{
    std::uint64_t id = 20;
    for (error e : {error::disconnected, error::not_sent, error::timeout, error::connect_failed,
                    error::wrong_server, error::queue_full, error::cancelled}) {
        const std::string method = "relay" + std::to_string(++id);
        d.add_raw("user", "calc", method,
                  [e](const call_context&, const mailroom::value_view&, responder r) { r.fail(e); });
        conn->sent.clear();
        call("calc", method, args_of().get(), id);
        const reply r = only_reply();
        EXPECT_EQ(r.code, static_cast<int>(error::remote_error)) << static_cast<int>(e);
        EXPECT_EQ(r.message, "downstream call failed: " + std::error_code(e).message());
    }
    d.add("calc", "typed_relay", [](int) -> int {
        throw std::system_error(error::timeout, "chat-3 did not answer");
    });
    conn->sent.clear();
    call("calc", "typed_relay", args_of(1).get(), ++id);
    const reply t = only_reply();
    EXPECT_EQ(t.code, static_cast<int>(error::remote_error));
    EXPECT_NE(t.message.find("downstream call failed: chat-3 did not answer"), std::string::npos)
        << t.message;

    for (error e : {error::server_busy, error::unknown_method, error::bad_arguments,
                    error::deadline_exceeded, error::shutting_down}) {
        const std::string method = "own" + std::to_string(++id);
        d.add_raw("user", "calc", method,
                  [e](const call_context&, const mailroom::value_view&, responder r) { r.fail(e); });
        conn->sent.clear();
        call("calc", method, args_of().get(), id);
        EXPECT_EQ(only_reply().code, static_cast<int>(e));
    }
}

// BUG (src/server/dispatcher.cpp, dispatcher::dispatch): a raw handler's exception is not
// caught. The responder, moved into the handler, is destroyed during unwinding and answers
// "the handler dropped the call without answering" instead of the exception's message, and
// the exception leaves dispatch(), session::on_message() and the transport's read handler,
// out of io_context::run() on the server's I/O thread. STYLE.md R6 and docs/protocol.md
// section 7 say a handler that throws answers remote_error with the exception's message.
TEST_F(Dispatcher, TurnsAThrowingRawHandlerIntoRemoteErrorWithItsMessage)
{
    d.add_raw("user", "calc", "raw_fail",
              [](const call_context&, const mailroom::value_view&, responder) {
                  throw std::runtime_error("boom");
              });
    EXPECT_NO_THROW(call("calc", "raw_fail", args_of().get(), 12));
    const reply r = only_reply();
    EXPECT_EQ(r.id, 12u);
    EXPECT_EQ(r.code, static_cast<int>(error::remote_error));
    // The by-value responder answered while the exception unwound it; a raw handler that
    // wants its message sent catches and calls fail() itself (typed handlers do).
    EXPECT_EQ(r.message, "the handler threw before answering");
}

TEST_F(Dispatcher, LetsARawHandlerAnswerLater)
{
    std::optional<responder> saved;
    d.add_raw("user", "clock", "later",
              [&saved](const call_context&, const mailroom::value_view& args, responder r) {
                  EXPECT_EQ(args.msgpack().type, msgpack::type::ARRAY);
                  saved.emplace(std::move(r));
              });
    call("clock", "later", args_of(1).get(), 21);
    EXPECT_TRUE(conn->sent.empty());
    ASSERT_TRUE(saved && saved->owed());
    saved->send(std::string("done"));
    EXPECT_FALSE(saved->owed());
    const reply r = only_reply();
    EXPECT_EQ(r.id, 21u);
    EXPECT_EQ(r.result->as<std::string>(), "done");
}

// --- notifies ------------------------------------------------------------------------------

TEST_F(Dispatcher, RunsANotifyWithoutAnswering)
{
    int seen = 0;
    d.add("calc", "store", [&seen](const call_context& ctx, int x) {
        EXPECT_TRUE(ctx.is_notify());
        seen = x;
        return x;
    });
    notify("calc", "store", args_of(5).get());
    EXPECT_EQ(seen, 5);
    EXPECT_TRUE(conn->sent.empty());
}

TEST_F(Dispatcher, NeverAnswersAFailedNotify)
{
    d.add("calc", "add", [](int a, int b) { return a + b; });
    d.add("calc", "fail", [] { throw std::runtime_error("boom"); });
    notify("nosvc", "add", args_of(1, 2).get());
    notify("calc", "nope", args_of(1, 2).get());
    notify("calc", "add", args_of(1).get());
    notify("calc", "fail", args_of().get());
    EXPECT_TRUE(conn->sent.empty());
}

// --- registry ------------------------------------------------------------------------------

TEST_F(Dispatcher, ListsBoundMethodsSorted)
{
    EXPECT_TRUE(d.methods().empty());
    d.add("zeta", "b", [] {});
    d.add("alpha", "x", [] {});
    d.add("alpha", "a", [] {});
    const auto stop = [] {};
    d.add("admin", "stop", stop, "sys");
    d.add_raw("user", "beta", "raw", [](const call_context&, const mailroom::value_view&, responder) {});
    EXPECT_EQ(d.methods(),
              (std::vector<std::string>{"sys.admin.stop", "user.alpha.a", "user.alpha.x",
                                        "user.beta.raw", "user.zeta.b"}));
}

TEST_F(Dispatcher, AddReplacesAnExistingBinding)
{
    d.add("calc", "f", [] { return 1; });
    d.add("calc", "f", [] { return 2; });
    EXPECT_EQ(d.methods(), std::vector<std::string>{"user.calc.f"});
    call("calc", "f", args_of().get());
    EXPECT_EQ(only_reply().result->as<int>(), 2);
}

// --- responder -----------------------------------------------------------------------------

class Responder : public ::testing::Test
{
protected:
    std::vector<reply> replies() const
    {
        std::vector<reply> out;
        for (const auto& body : conn->sent)
            out.push_back(decode_reply(body));
        return out;
    }

    std::shared_ptr<recording_connection> conn = std::make_shared<recording_connection>();
};

TEST_F(Responder, AnswersAtMostOnce)
{
    responder r(conn, 5);
    EXPECT_TRUE(r.owed());
    r.send(1);
    EXPECT_FALSE(r.owed());
    r.fail(error::remote_error, "late");
    r.send();
    r.send(2);
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, 5u);
    EXPECT_EQ(got[0].code, 0);
    EXPECT_EQ(got[0].result->as<int>(), 1);
}

TEST_F(Responder, AFailureIsTheOnlyAnswer)
{
    {
        responder r(conn, 5);
        r.fail(error::server_busy, "busy");
        r.send(1);
    } // and the destructor adds nothing
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::server_busy));
    EXPECT_EQ(got[0].message, "busy");
}

TEST_F(Responder, AnswersVoidWithNil)
{
    responder r(conn, 2);
    r.send();
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].code, 0);
    EXPECT_EQ(got[0].result->type, msgpack::type::NIL);
}

TEST_F(Responder, AnswersDroppedWhenDestroyedWithoutAnswering)
{
    {
        responder r(conn, 3);
    }
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, 3u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::remote_error));
    EXPECT_EQ(got[0].message, "the handler dropped the call without answering");
}

TEST_F(Responder, AMovedFromResponderOwesNothing)
{
    responder a(conn, 4);
    responder b(std::move(a));
    EXPECT_FALSE(a.owed()); // the moved-from state is specified: it owes nothing
    EXPECT_TRUE(b.owed());
    a.send(1);
    EXPECT_TRUE(conn->sent.empty());
    b.send(2);
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, 4u);
    EXPECT_EQ(got[0].result->as<int>(), 2);
}

TEST_F(Responder, MoveAssignmentAnswersTheCallItReplaces)
{
    responder a(conn, 1);
    responder b(conn, 2);
    a = std::move(b);
    ASSERT_EQ(conn->sent.size(), 1u);
    a.send(7);
    const auto got = replies();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].id, 1u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::remote_error));
    EXPECT_EQ(got[1].id, 2u);
    EXPECT_EQ(got[1].result->as<int>(), 7);
}

TEST_F(Responder, ANotifyResponderSendsNothing)
{
    responder r;
    EXPECT_FALSE(r.owed());
    r.send(1);
    r.send();
    r.fail(error::remote_error, "x");
    responder zero_id(conn, 0); // id 0 is never a request
    EXPECT_FALSE(zero_id.owed());
    zero_id.send(1);
    EXPECT_TRUE(conn->sent.empty());
}

TEST_F(Responder, FailWithoutAMessageSendsTheCodesMessage)
{
    responder r(conn, 1);
    r.fail(error::unknown_method);
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(got[0].message, std::error_code(error::unknown_method).message());
}

TEST_F(Responder, FailWithAnotherCategoryTravelsAsRemoteError)
{
    const std::error_code refused = std::make_error_code(std::errc::connection_refused);
    responder a(conn, 1);
    a.fail(refused);
    responder b(conn, 2);
    b.fail(refused, "db down");
    const auto got = replies();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::remote_error));
    EXPECT_EQ(got[0].message, std::string(refused.category().name()) + ": " + refused.message());
    EXPECT_EQ(got[1].code, static_cast<int>(error::remote_error));
    EXPECT_EQ(got[1].message, "db down");
}

// BUG (src/server/responder.cpp, responder::fail): with an empty error_code and no message,
// the text is taken from the empty code before it is replaced by remote_error, so the
// caller gets code remote_error with the message "Success". Before the frame_too_large
// change it sent remote_error's own message, as docs/protocol.md section 2 describes.
TEST_F(Responder, FailWithAnEmptyCodeSendsRemoteErrorWithItsMessage)
{
    responder r(conn, 1);
    r.fail(std::error_code{});
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::remote_error));
    EXPECT_EQ(got[0].message, std::error_code(error::remote_error).message());
}

TEST_F(Responder, ReplacesAnAnswerAboveTheMaximumFrameSizeWithFrameTooLarge)
{
    const std::string result(200, 'r');
    mailroom::frame probe;
    protocol::encode_response(probe, 1, result);
    const std::size_t size = probe.body_size();

    responder fits(conn, 1, size);
    fits.send(result);
    responder too_big(conn, 2, size - 1);
    too_big.send(result);
    const auto got = replies();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].code, 0);
    EXPECT_EQ(got[0].result->as<std::string>(), result);
    EXPECT_EQ(got[1].id, 2u);
    EXPECT_EQ(got[1].code, static_cast<int>(error::frame_too_large));
    EXPECT_EQ(got[1].result->type, msgpack::type::NIL);
}

TEST_F(Responder, ReplacesAnOversizedErrorMessageWithFrameTooLarge)
{
    responder r(conn, 1, 100);
    r.fail(error::remote_error, std::string(500, 'e'));
    const auto got = replies();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].code, static_cast<int>(error::frame_too_large));
}

} // namespace

namespace {

TEST_F(Dispatcher, ALookupCacheServesRepeatedCallsAndSeesRebinding)
{
    d.add("calc", "f", [](int x) { return x + 1; });
    d.add("calc", "g", [](int x) { return x + 2; });
    mailroom::dispatcher::lookup_cache cache;
    const auto now = std::chrono::steady_clock::now();
    auto call_cached = [&](std::string_view service, std::string_view method, std::uint64_t id) {
        auto a = args_of(10);
        d.dispatch(context(service, method, id), mailroom::value_view(a.get()), responder(conn, id), now, &cache);
        return decode_reply(conn->sent.back());
    };
    // More distinct methods than the cache holds, round and round: each answer is its own.
    for (std::uint64_t i = 1; i <= 20; ++i) {
        EXPECT_EQ(call_cached("calc", "f", 2 * i).result->as<int>(), 11);
        EXPECT_EQ(call_cached("calc", "g", 2 * i + 1).result->as<int>(), 12);
    }
    d.add("calc", "f", [](int x) { return x * 100; }); // bound again
    EXPECT_EQ(call_cached("calc", "f", 100).result->as<int>(), 1000);
    EXPECT_EQ(call_cached("calc", "h", 101).code, static_cast<int>(error::unknown_method));
    EXPECT_EQ(call_cached("calx", "f", 102).code, static_cast<int>(error::unknown_service));
    EXPECT_EQ(call_cached("calc", "f", 103).result->as<int>(), 1000);
}

} // namespace
