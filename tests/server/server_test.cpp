#include <mailroom/server/server.hpp>
// Test that header file is self-contained.

// What a server logs when a connection closes: the usual ends quietly (debug), failures at
// info, protocol errors and clients that stopped reading as warnings.

#include "support/json_protocol.hpp"
#include "support/log_capture.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>
#include <mailroom/metrics/registry.hpp>
#include <mailroom/protocol/values.hpp>
#include <mailroom/server/acceptor.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using mailroom::error;
using mailroom::log_level;
using mailroom::detail::to_std_error;

/// An acceptor the test drives: it hands the core the connections the test gives it.
class manual_acceptor final : public mailroom::acceptor {
public:
    std::error_code start(mailroom::accept_handler on_accept) override
    {
        on_accept_ = std::move(on_accept);
        return {};
    }
    void close() override {}
    std::string local_address() const override { return "manual"; }

    /// The core's handler of `conn`.
    std::shared_ptr<mailroom::connection_handler> accept(std::shared_ptr<mailroom::connection> conn)
    {
        return on_accept_(std::move(conn));
    }

private:
    mailroom::accept_handler on_accept_;
};

class idle_connection final : public mailroom::connection {
public:
    void send(mailroom::frame) override {}
    void close() override {}
    std::string remote_address() const override { return "peer:7"; }
};

/// What a server logs when a connection closes with `ec`.
std::vector<std::pair<log_level, std::string>> logged_on_close(std::error_code ec,
                                                               log_level min = log_level::trace)
{
    mailroom::test::log_capture log;
    asio::io_context ioc;
    mailroom::server srv(ioc.get_executor(), {.server_id = "s-1", .log = log.logger(min)});
    auto acc = std::make_shared<manual_acceptor>();
    EXPECT_FALSE(srv.listen(acc));
    auto handler = acc->accept(std::make_shared<idle_connection>());
    EXPECT_TRUE(handler);
    handler->on_close(ec);
    EXPECT_EQ(srv.connections(), 0u);
    return log.lines();
}

/// The one line logged for a close with `ec`, and its level.
void expect_logged(std::error_code ec, log_level level)
{
    const auto lines = logged_on_close(ec);
    ASSERT_EQ(lines.size(), 1u) << ec.message();
    EXPECT_EQ(lines[0].first, level) << ec.message();
    EXPECT_EQ(lines[0].second, "connection from peer:7 closed: " + ec.message());
}

TEST(ServerCloseLog, ACloseByEitherEndIsLoggedAtDebug)
{
    expect_logged(std::make_error_code(std::errc::operation_canceled), log_level::debug);
    expect_logged(to_std_error(asio::error::operation_aborted), log_level::debug);
    expect_logged(to_std_error(asio::error::eof), log_level::debug);
    expect_logged(error::cancelled, log_level::debug);
}

TEST(ServerCloseLog, ALinkThatFailedIsLoggedAtInfo)
{
    expect_logged(to_std_error(asio::error::connection_reset), log_level::info);
    expect_logged(to_std_error(asio::error::broken_pipe), log_level::info);
    expect_logged(error::keepalive_timeout, log_level::info);
}

TEST(ServerCloseLog, AProtocolErrorOrAClientThatStoppedReadingIsAWarning)
{
    expect_logged(error::frame_too_large, log_level::warning);
    expect_logged(error::protocol_error, log_level::warning);
    expect_logged(error::queue_full, log_level::warning);
}

TEST(ServerCloseLog, NothingIsLoggedBelowTheLoggersLevel)
{
    EXPECT_TRUE(logged_on_close(to_std_error(asio::error::eof), log_level::info).empty());
    EXPECT_TRUE(logged_on_close(error::keepalive_timeout, log_level::warning).empty());
    EXPECT_EQ(logged_on_close(error::frame_too_large, log_level::warning).size(), 1u);
}

} // namespace

namespace {

/// The limits the core asks a link to enforce before the handshake, for `protocol`.
mailroom::handshake_limits limits_for(std::shared_ptr<const mailroom::wire_protocol> protocol,
                                      mailroom::server_options options)
{
    asio::io_context ioc;
    options.log.min_level = log_level::off;
    mailroom::server srv(ioc.get_executor(), std::move(options));
    auto acc = std::make_shared<manual_acceptor>();
    EXPECT_FALSE(srv.listen(acc, std::move(protocol)));
    auto handler = acc->accept(std::make_shared<idle_connection>());
    EXPECT_TRUE(handler);
    const auto limits = handler->limits_before_handshake();
    handler->on_close({});
    return limits;
}

TEST(SessionLimits, ANativeLinkHasAHelloDeadlineAndASmallFrameLimitUntilItsHello)
{
    const auto defaults = limits_for(nullptr, {});
    EXPECT_EQ(defaults.timeout, std::chrono::milliseconds(10'000));
    EXPECT_EQ(defaults.max_frame_size, std::size_t{64} << 10);
    const auto set = limits_for(nullptr, {.handshake_timeout = std::chrono::milliseconds(250),
                                          .max_frame_size_before_handshake = 1000});
    EXPECT_EQ(set.timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(set.max_frame_size, 1000u);
}

TEST(SessionLimits, AProtocolWithoutAHandshakeHasNothingToWaitFor)
{
    const auto limits = limits_for(std::make_shared<mailroom::test::json_protocol>(), {});
    EXPECT_EQ(limits.timeout.count(), 0);
    EXPECT_EQ(limits.max_frame_size, 0u);
}

} // namespace

namespace {

/// A connection that counts the frames sent on it.
class counting_connection final : public mailroom::connection {
public:
    void send(mailroom::frame) override { ++sent; }
    void close() override {}
    std::string remote_address() const override { return "peer:8"; }

    int sent = 0;
};

// A served call's series is kept beside the connection's cached lookup of its method: each
// (server type, method) pair still counts in a series of its own, a method bound again keeps
// its series, and calls to a method the server does not know count under "_unknown".
TEST(ServerMetrics, EachMethodAndServerTypeCountsInItsOwnSeriesOnOneConnection)
{
    asio::io_context ioc;
    auto reg = std::make_shared<mailroom::metrics::registry>();
    mailroom::server_options options{.server_id = "s-1"};
    options.log.min_level = log_level::off;
    options.metrics = reg;
    mailroom::server srv(ioc.get_executor(), std::move(options));
    srv.get_dispatcher().add("calc", "add", [](int a, int b) { return a + b; });
    srv.get_dispatcher().add("calc", "neg", [](int a) { return -a; });
    const auto protocol = std::make_shared<mailroom::test::json_protocol>();
    auto acc = std::make_shared<manual_acceptor>();
    ASSERT_FALSE(srv.listen(acc, protocol));
    const auto conn = std::make_shared<counting_connection>();
    const auto handler = acc->accept(conn);
    ASSERT_TRUE(handler);

    std::uint64_t id = 0;
    const auto call = [&](std::string_view type, std::string_view method, const auto& args) {
        mailroom::frame f;
        ASSERT_FALSE(protocol->encode_request(f, ++id, {"user", type, "calc", method},
                                              mailroom::value_ref(args), 0));
        handler->on_message(f.body());
    };
    for (int i = 0; i < 3; ++i) { // interleaved: each is found again through the cache
        call("math", "add", std::tuple(1, 2));
        call("algebra", "add", std::tuple(1, 2)); // the same method, another server type
        call("math", "neg", std::tuple(1));
        call("math", "nope", std::tuple(1));
    }
    srv.get_dispatcher().add("calc", "add", [](int a, int b) { return a - b; });
    call("math", "add", std::tuple(1, 2));
    EXPECT_EQ(conn->sent, 13) << "every call answered";

    const auto calls = [&](std::string_view type, std::string_view method) -> std::uint64_t {
        const auto* s = reg->find_server_method({"user", type, "calc", method});
        return s ? s->calls() : 0;
    };
    EXPECT_EQ(calls("math", "add"), 4u);
    EXPECT_EQ(calls("algebra", "add"), 3u);
    EXPECT_EQ(calls("math", "neg"), 3u);
    EXPECT_EQ(reg->find_server_method({"user", "math", "calc", "nope"}), nullptr);
    const auto* unknown = reg->server_method({"user", "math", "calc", "nope"}, false);
    EXPECT_EQ(unknown->method(), "_unknown");
    EXPECT_EQ(unknown->calls(), 3u);
    EXPECT_EQ(unknown->errors_in(static_cast<std::size_t>(error::unknown_method)), 3u);
    handler->on_close({});
}

} // namespace
