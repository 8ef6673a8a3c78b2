// Trace propagation through a chain A -> B -> C of three servers over loopback TCP in one
// process: the trace id travels, each call gets its own span, a handler's downstream call
// continues the handler's trace (implicitly in a callback handler, explicitly in a coroutine
// after it suspended), and rpc_log prints the same ids on both ends of a call.

#include <mailroom/client.hpp>
#include <mailroom/filters/rpc_log.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>
#include <mailroom/trace_context.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using mailroom::trace_context;
using strings = std::vector<std::string>;

/// Lines an rpc_log wrote.
struct log_lines {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    mailroom::logger logger()
    {
        return {.min_level = mailroom::log_level::info,
                .sink = [this](mailroom::log_level, std::string_view l) {
                    std::lock_guard lock(mu);
                    lines.emplace_back(l);
                    cv.notify_all();
                }};
    }
    /// The lines once there are `n` (or after 10 s, whatever is there).
    std::vector<std::string> wait_for(std::size_t n)
    {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return lines.size() >= n; });
        return lines;
    }
};

/// A server listening on a free port, and a client side of its own.
struct node {
    mailroom::server server;
    std::shared_ptr<mailroom::tcp::acceptor> acceptor;
    mailroom::mail_station station;
    mailroom::router router;
    mailroom::client_filters client_filters;
    mailroom::proxy rpc{station, router, &client_filters};

    node(asio::io_context& ioc, std::string id)
        : server(ioc.get_executor(), {.server_id = id}),
          acceptor(mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0})),
          station(ioc.get_executor(), {.client_id = id})
    {
        station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    }
    void listen() { ASSERT_FALSE(server.listen(acceptor)); }
    void knows(const std::string& id, const std::string& type, const node& other)
    {
        station.add_server({.id = id, .server_type = type, .host = "127.0.0.1",
                            .port = other.acceptor->port()});
    }
};

const mailroom::protocol::method_path c_who{.server_type = "c", .service = "cRemote",
                                            .method = "who"};

std::string trace_of(const std::string& traceparent) { return traceparent.substr(3, 32); }
std::string span_of(const std::string& traceparent) { return traceparent.substr(36, 16); }

struct chain : ::testing::Test {
    asio::io_context ioc;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
        ioc.get_executor()};
    node a{ioc, "a-1"}, b{ioc, "b-1"}, c{ioc, "c-1"};
    log_lines b_log, c_log;
    std::vector<std::thread> threads;

    void SetUp() override
    {
        // C answers with the trace it sees.
        c.server.get_dispatcher().add("cRemote", "who", [](const mailroom::call_context& ctx) {
            return ctx.trace.traceparent();
        });
        // B, a callback handler: calls C without naming a trace (implicit).
        b.server.get_dispatcher().add(
            "bRemote", "implicit",
            [this](const mailroom::call_context& ctx, mailroom::reply_callback<strings> done) {
                b.rpc.async_call<std::string>(
                    c_who, "k", std::tuple{},
                    [done = std::move(done), mine = ctx.trace.traceparent()](
                        std::error_code ec, std::string theirs) mutable {
                        if (ec)
                            return done.fail(ec);
                        done(strings{mine, theirs});
                    });
            });
        // B, a coroutine: suspends first, then calls C naming its trace (explicit).
        b.server.get_dispatcher().add(
            "bRemote", "explicit",
            [this](const mailroom::call_context& ctx) -> asio::awaitable<strings> {
                const auto mine = ctx.trace;
                co_await asio::post(ctx.executor, asio::use_awaitable);
                auto [ec, theirs] = co_await b.rpc.async_call<std::string>(
                    c_who, "k", std::tuple{}, mailroom::call_options{.trace = mine},
                    asio::use_awaitable);
                if (ec)
                    throw std::system_error(ec);
                co_return strings{mine.traceparent(), theirs};
            });
        auto b_rpc_log = std::make_shared<mailroom::filters::rpc_log>(
            mailroom::filters::rpc_log_options{.log = b_log.logger()});
        b.client_filters.add(b_rpc_log);
        c.server.filters().add(std::make_shared<mailroom::filters::rpc_log>(
            mailroom::filters::rpc_log_options{.log = c_log.logger()}));
        c.listen();
        b.listen();
        a.listen();
        b.knows("c-1", "c", c);
        a.knows("b-1", "b", b);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }

    void TearDown() override
    {
        for (auto* n : {&a, &b, &c}) {
            n->station.close();
            n->server.stop();
        }
        work.reset();
        for (auto& t : threads)
            t.join();
    }

    strings call_b(const std::string& method, mailroom::call_options options)
    {
        std::promise<std::pair<std::error_code, strings>> done;
        a.rpc.async_call<strings>({.server_type = "b", .service = "bRemote", .method = method},
                                  "k", std::tuple{}, options,
                                  [&done](std::error_code ec, strings s) {
                                      done.set_value({ec, std::move(s)});
                                  });
        auto [ec, s] = done.get_future().get();
        EXPECT_FALSE(ec) << ec.message();
        return s;
    }
};

TEST_F(chain, ACallbackHandlersDownstreamCallContinuesItsTrace)
{
    const auto root = trace_context::make_root();
    const auto s = call_b("implicit", {.trace = root});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(trace_of(s[0]), root.trace_id_hex()) << "B sees A's trace";
    EXPECT_NE(span_of(s[0]), root.span_id_hex()) << "A's call is a span of its own";
    EXPECT_EQ(trace_of(s[1]), root.trace_id_hex()) << "C sees the same trace";
    EXPECT_NE(span_of(s[1]), span_of(s[0])) << "B's call to C is another span";
}

TEST_F(chain, ACoroutineHandlerPassesItsTraceExplicitly)
{
    const auto root = trace_context::make_root();
    const auto s = call_b("explicit", {.trace = root});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(trace_of(s[0]), root.trace_id_hex());
    EXPECT_EQ(trace_of(s[1]), root.trace_id_hex());
    EXPECT_NE(span_of(s[1]), span_of(s[0]));
}

TEST_F(chain, ACallWithoutATraceStartsOne)
{
    const auto s = call_b("implicit", {});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(trace_of(s[0]), trace_of(s[1]));
    EXPECT_NE(trace_of(s[0]), std::string(32, '0'));
    EXPECT_NE(call_b("implicit", {})[0].substr(3, 32), trace_of(s[0])) << "each chain its own";
}

TEST_F(chain, RpcLogPrintsTheSameIdsOnBothEnds)
{
    const auto root = trace_context::make_root();
    const auto s = call_b("implicit", {.trace = root});
    ASSERT_EQ(s.size(), 2u);
    // B's client line is written before B answers A; C's server line once C's answer is
    // handed to its connection, which may be after B read it: waited for.
    const std::regex line(R"(rpc (\S+) -> (\S+) user\.cRemote\.who: ok in [0-9.]+ ms trace=([0-9a-f]{32}) span=([0-9a-f]{16}))");
    for (auto* log : {&b_log, &c_log}) {
        const auto lines = log->wait_for(1);
        ASSERT_EQ(lines.size(), 1u);
        std::smatch m;
        ASSERT_TRUE(std::regex_match(lines[0], m, line)) << lines[0];
        EXPECT_EQ(m[1], "b-1");
        EXPECT_EQ(m[2], "c-1");
        EXPECT_EQ(m[3], root.trace_id_hex()) << lines[0];
        EXPECT_EQ(m[4], span_of(s[1])) << lines[0];
    }
}

} // namespace
