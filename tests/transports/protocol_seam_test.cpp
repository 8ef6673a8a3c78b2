// The protocol seam: a protocol other than the native one (tests/support/json_protocol.hpp:
// JSON bodies, no hello, no pings) carries typed calls end to end over the tcp transport,
// arguments encoded once by the routed server's protocol, results converted from JSON; and a
// call moved to a server of another protocol is encoded again.

#include "support/json_protocol.hpp"

#include <mailroom/client.hpp>
#include <mailroom/server.hpp>
#include <mailroom/tcp.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <map>
#include <string_view>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

namespace asio = boost::asio;
using mailroom::error;
using mailroom::test::json_protocol;

struct player {
    std::string name;
    int level = 0;
    MSGPACK_DEFINE_MAP(name, level)
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(player, name, level)
};

/// Travels in msgpack only: no JSON conversions.
struct msgpack_only {
    int x = 0;
    MSGPACK_DEFINE_MAP(x)
};

/// Travels in JSON only: no msgpack adaptor.
struct json_only {
    int y = 0;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(json_only, y)
};

const mailroom::protocol::method_path add_path{.server_type = "calc", .service = "calc",
                                               .method = "add"};

/// A server of type "calc" on loopback tcp, speaking `protocol`.
class calc_server {
public:
    calc_server(asio::io_context& ioc, std::string id,
                std::shared_ptr<const mailroom::wire_protocol> protocol)
        : server_(ioc.get_executor(), {.server_id = id}), id_(std::move(id))
    {
        auto& d = server_.get_dispatcher();
        d.add("calc", "add", [](int a, int b) { return a + b; });
        d.add("calc", "promote", [](player p) {
            ++p.level;
            return p;
        });
        d.add("calc", "whoami", [this] { return id_; });
        d.add("calc", "fail", []() -> int { throw std::runtime_error("boom"); });
        d.add("calc", "note", [this](std::string s) { notes_.set_value(std::move(s)); });
        d.add("calc", "concat", [](std::string a, std::string b) { return a + b; });
        d.add("calc", "twice", [](json_only j) { return json_only{j.y * 2}; });
        // Compiles with values whose elements have no JSON form (they travel in msgpack).
        d.add("calc", "count", [](const std::map<std::string, msgpack_only>& m) {
            return static_cast<int>(m.size());
        });
        auto acc = mailroom::tcp::make_acceptor(ioc.get_executor(), {.protocol = protocol});
        EXPECT_FALSE(server_.listen(acc, protocol));
        port_ = acc->port();
    }

    mailroom::server_info info(std::string transport) const
    {
        return {.id = id_, .server_type = "calc", .host = "127.0.0.1", .port = port_,
                .transport = std::move(transport)};
    }

    std::future<std::string> next_note() { return notes_.get_future(); }

private:
    mailroom::server server_;
    std::string id_;
    std::uint16_t port_ = 0;
    std::promise<std::string> notes_;
};

class ProtocolSeam : public ::testing::Test {
protected:
    ProtocolSeam()
    {
        for (int i = 0; i < 2; ++i)
            threads_.emplace_back([this] { ioc_.run(); });
        station_.emplace(ioc_.get_executor(), mailroom::mail_station_options{.client_id = "test"});
        station_->add_transport("json", mailroom::tcp::make_mailbox_factory(), client_json_);
        station_->add_transport("tcp", mailroom::tcp::make_mailbox_factory());
        proxy_.emplace(*station_, router_, &filters_);
    }

    ~ProtocolSeam() override
    {
        proxy_.reset();
        station_.reset();
        servers_.clear();
        work_.reset(); // the threads return once the closes above ran (no stop(): a close
                       // it cut short would leave a connection and its session holding
                       // each other)
        for (auto& t : threads_)
            t.join();
    }

    calc_server& add_server(std::string id, std::string transport)
    {
        auto p = transport == "json" ? std::shared_ptr<const mailroom::wire_protocol>(server_json_)
                                     : nullptr;
        auto& s = *servers_.emplace_back(std::make_unique<calc_server>(ioc_, id, p));
        station_->add_server(s.info(transport));
        return s;
    }

    template <class R, class Args>
    std::pair<std::error_code, R> call_to(const std::string& id, std::string_view method,
                                          const Args& args, mailroom::diagnostics* diag = nullptr)
    {
        std::promise<std::pair<std::error_code, R>> done;
        auto path = add_path;
        path.method = method;
        proxy_->async_call_to<R>(id, path, args, mailroom::call_options{.diag = diag},
                                 [&](std::error_code ec, R r) { done.set_value({ec, std::move(r)}); });
        return done.get_future().get();
    }

    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::vector<std::thread> threads_;
    std::shared_ptr<json_protocol> client_json_ = std::make_shared<json_protocol>();
    std::shared_ptr<json_protocol> server_json_ = std::make_shared<json_protocol>();
    std::vector<std::unique_ptr<calc_server>> servers_;
    std::optional<mailroom::mail_station> station_;
    mailroom::router router_;
    mailroom::client_filters filters_;
    std::optional<mailroom::proxy> proxy_;
};

TEST_F(ProtocolSeam, TypedCallsTravelAsJsonWithoutAHandshake)
{
    add_server("calc-1", "json");
    auto [ec, sum] = call_to<int>("calc-1", "add", std::make_tuple(2, 3));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(sum, 5);

    // The server decoded the JSON request first: no hello, no native frame.
    const auto in = server_json_->decoded();
    ASSERT_EQ(in.size(), 1u);
    const auto req = nlohmann::json::parse(in[0]);
    EXPECT_EQ(req["msg"]["args"], nlohmann::json::array({2, 3}));
    EXPECT_EQ(req["msg"]["serverType"], "calc");
    EXPECT_EQ(req["msg"]["method"], "add");
    // ... and the client the JSON response.
    const auto out = client_json_->decoded();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(out[0])["resp"], nlohmann::json::array({nullptr, 5}));
}

TEST_F(ProtocolSeam, StructsConvertFromAndToJson)
{
    add_server("calc-1", "json");
    auto [ec, p] = call_to<player>("calc-1", "promote", std::make_tuple(player{"ann", 4}));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(p.name, "ann");
    EXPECT_EQ(p.level, 5);
}

TEST_F(ProtocolSeam, AMismatchedJsonArgumentIsNamed)
{
    add_server("calc-1", "json");
    mailroom::diagnostics diag;
    auto [ec, sum] = call_to<int>("calc-1", "add", std::make_tuple(std::string("x"), 1), &diag);
    EXPECT_EQ(ec, error::bad_arguments);
    EXPECT_EQ(diag.remote_message(), "argument 1 of 2: expected int, got a string");
}

TEST_F(ProtocolSeam, RemoteErrorsKeepTheirMessage)
{
    add_server("calc-1", "json");
    mailroom::diagnostics diag;
    auto [ec, v] = call_to<int>("calc-1", "fail", std::tuple<>{}, &diag);
    EXPECT_EQ(ec, error::remote_error);
    EXPECT_EQ(diag.remote_message(), "boom");
}

TEST_F(ProtocolSeam, AValueWithoutAJsonFormFailsUnsentWithNotEncodable)
{
    add_server("calc-1", "json");
    auto [ec, v] = call_to<int>("calc-1", "add", std::make_tuple(msgpack_only{1}));
    EXPECT_EQ(ec, error::not_encodable);
    EXPECT_TRUE(server_json_->decoded().empty());
    // The same value travels to a native server.
    add_server("calc-2", "tcp");
    auto [ec2, sum] = call_to<int>("calc-2", "add", std::make_tuple(msgpack_only{1}));
    EXPECT_EQ(ec2, error::bad_arguments); // reached the server: a map is not an int
}

TEST_F(ProtocolSeam, DynamicCallsGetTheJsonResult)
{
    add_server("calc-1", "json");
    auto [ec, r] = call_to<mailroom::reply>("calc-1", "add", std::make_tuple(20, 22));
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_NE(r.json(), nullptr);
    EXPECT_EQ(*r.json(), 42);
    EXPECT_EQ(r.as<int>(), 42);
    EXPECT_EQ(r.value().format(), mailroom::value_format::json);
    // JSON arguments given as such reach a native server too (written as msgpack).
    add_server("calc-2", "tcp");
    auto [ec2, r2] = call_to<mailroom::reply>("calc-2", "add", nlohmann::json::array({1, 2}));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(r2.json(), nullptr);
    EXPECT_EQ(r2.as<int>(), 3);
}

TEST_F(ProtocolSeam, NotifiesTravelAsJson)
{
    auto& s = add_server("calc-1", "json");
    auto note = s.next_note();
    std::promise<std::error_code> sent;
    auto path = add_path;
    path.method = "note";
    proxy_->async_notify_to("calc-1", path, std::make_tuple(std::string("hi")),
                            [&](std::error_code ec) { sent.set_value(ec); });
    EXPECT_FALSE(sent.get_future().get());
    EXPECT_EQ(note.get(), "hi");
    ASSERT_EQ(server_json_->decoded().size(), 1u);
    EXPECT_FALSE(nlohmann::json::parse(server_json_->decoded()[0]).contains("id"));
}

TEST_F(ProtocolSeam, JsonArgumentsAreReadAsStrictlyAsMsgpack)
{
    add_server("calc-1", "json");
    mailroom::diagnostics diag;
    auto [ec, v] = call_to<int>("calc-1", "add", std::make_tuple(1.7, 1), &diag);
    EXPECT_EQ(ec, error::bad_arguments) << "1.7 is not an int";
    EXPECT_EQ(diag.remote_message(), "argument 1 of 2: expected int, got a floating-point number");
    auto [ec2, v2] = call_to<int>("calc-1", "add", std::make_tuple(true, 1));
    EXPECT_EQ(ec2, error::bad_arguments) << "true is not an int";
}

TEST_F(ProtocolSeam, AJsonOnlyTypeTravelsToJsonServersAndIsNotEncodableForNativeOnes)
{
    add_server("calc-1", "json");
    add_server("calc-2", "tcp");
    auto [ec, j] = call_to<json_only>("calc-1", "twice", std::make_tuple(json_only{21}));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(j.y, 42);
    auto [ec2, j2] = call_to<json_only>("calc-2", "twice", std::make_tuple(json_only{21}));
    EXPECT_EQ(ec2, error::not_encodable);
}

TEST_F(ProtocolSeam, StringLiteralsAndViewsTravelToBothProtocols)
{
    add_server("calc-1", "json");
    add_server("calc-2", "tcp");
    const std::string_view b = "-b";
    for (const char* id : {"calc-1", "calc-2"}) {
        auto [ec, s] = call_to<std::string>(id, "concat", std::make_tuple("a", b));
        ASSERT_FALSE(ec) << id << ": " << ec.message();
        EXPECT_EQ(s, "a-b") << id;
    }
}

TEST_F(ProtocolSeam, ValuesWithoutAJsonFormInsideContainersStillTravelInMsgpack)
{
    add_server("calc-2", "tcp");
    std::map<std::string, msgpack_only> m{{"a", {1}}, {"b", {2}}};
    auto [ec, n] = call_to<int>("calc-2", "count", std::make_tuple(m));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, 2);
}

/// Moves every call from `from` to `to`.
class redirect final : public mailroom::client_filter {
public:
    redirect(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}
    void before(mailroom::filter_call& c, mailroom::filter_next next) override
    {
        if (c.target == from_)
            c.target = to_;
        next();
    }

private:
    std::string from_, to_;
};

TEST_F(ProtocolSeam, ACallMovedToAJsonServerKeepsItsOwnCopyOfStringViews)
{
    add_server("calc-json", "json");
    add_server("calc-native", "tcp");
    filters_.add(std::make_shared<redirect>("calc-native", "calc-json"));
    std::promise<std::pair<std::error_code, std::string>> done;
    {
        // The call keeps its own copy of the views (owned_args): whenever the filter moves it
        // and it is encoded again as JSON, the caller's strings may have changed or be gone.
        std::string a = "left-", b = "right";
        auto path = add_path;
        path.method = "concat";
        proxy_->async_call_to<std::string>(
            "calc-native", path, std::make_tuple(std::string_view(a), b.c_str()),
            [&](std::error_code ec, std::string r) { done.set_value({ec, std::move(r)}); });
        a.assign(a.size(), 'x');
        b.assign(b.size(), 'y');
    }
    auto [ec, s] = done.get_future().get();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s, "left-right");
}

TEST_F(ProtocolSeam, ACallMovedToAServerOfAnotherProtocolIsEncodedAgain)
{
    add_server("calc-json", "json");
    add_server("calc-native", "tcp");
    filters_.add(std::make_shared<redirect>("calc-json", "calc-native"));
    auto [ec, who] = call_to<std::string>("calc-json", "whoami", std::tuple<>{});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(who, "calc-native");
    EXPECT_TRUE(server_json_->decoded().empty()); // nothing JSON-encoded went anywhere

    filters_.add(std::make_shared<redirect>("calc-native", "calc-json"));
    // Now native -> json: the call made for the native server arrives as JSON.
    auto [ec2, sum] = call_to<int>("calc-native", "add", std::make_tuple(4, 5));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(sum, 9);
    ASSERT_EQ(server_json_->decoded().size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(server_json_->decoded()[0])["msg"]["args"],
              nlohmann::json::array({4, 5}));
}

} // namespace
