#include <mailroom/app/config.hpp>
// Test that header file is self-contained.

#include <mailroom/app/app.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

using mailroom::config_error;
using mailroom::parse_servers;

/// The message of the config_error `f` throws, or "" if it throws none.
template <class F>
std::string error_of(F f)
{
    try {
        f();
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

TEST(Config, ReadsPomeloServersJson)
{
    auto servers = parse_servers(R"({"development": {
        "connector": [{"id": "connector-server-1", "host": "127.0.0.1", "port": 4050,
                       "clientPort": 3050, "frontend": true}],
        "chat": [{"id": "chat-server-1", "host": "10.0.0.2", "port": 6050, "transport": "ws",
                  "weight": 3}]}})",
                                 "development");
    ASSERT_EQ(servers.size(), 2u);
    const auto& c = servers[0].id == "chat-server-1" ? servers[0] : servers[1];
    const auto& k = servers[0].id == "chat-server-1" ? servers[1] : servers[0];
    EXPECT_EQ(c.server_type, "chat");
    EXPECT_EQ(c.host, "10.0.0.2");
    EXPECT_EQ(c.port, 6050);
    EXPECT_EQ(c.transport, "ws");
    EXPECT_EQ(c.weight, 3);
    EXPECT_EQ(k.transport, "tcp") << "the default transport";
    EXPECT_EQ(k.weight, 1);
    EXPECT_EQ(k.options.at("clientPort"), "3050");
    EXPECT_EQ(k.options.at("frontend"), "true");
}

TEST(Config, ARedisNodeNeedsOnlyItsIdAndKeepsItsRedisUrl)
{
    auto servers = parse_servers(R"({"development": {
        "chat": [{"id": "chat-1", "transport": "redis", "redis_url": "redis://10.0.0.9:6379/2"}]}})",
                                 "development");
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_EQ(servers[0].transport, "redis");
    EXPECT_TRUE(servers[0].host.empty());
    EXPECT_EQ(servers[0].port, 0);
    EXPECT_EQ(servers[0].options.at("redis_url"), "redis://10.0.0.9:6379/2");
    auto msg = error_of([] {
        parse_servers(R"({"development": {"chat": [{"id": "chat-1", "transport": "tcp"}]}})",
                      "development", "cfg/servers.json");
    });
    EXPECT_EQ(msg, "cfg/servers.json: development.chat[0].host: missing")
        << "other transports still need a host and port";
    EXPECT_NE(error_of([] {
                  parse_servers(R"({"development": {"chat": [{"transport": "redis"}]}})",
                                "development", "cfg/servers.json");
              }).find("id: missing"),
              std::string::npos);
}

TEST(Config, NamesTheFileAndFieldOfEveryMistake)
{
    auto msg = [](std::string json, std::string env = "development") {
        return error_of([&] { parse_servers(json, env, "cfg/servers.json"); });
    };
    EXPECT_EQ(msg("{"), msg("{")); // deterministic
    EXPECT_NE(msg("{").find("cfg/servers.json: (document): not valid JSON"), std::string::npos);
    EXPECT_EQ(msg(R"({"production": {}})"), "cfg/servers.json: development: no such environment");
    EXPECT_EQ(msg(R"({"development": {"chat": {}}})"),
              "cfg/servers.json: development.chat: expected an array of servers");
    EXPECT_EQ(msg(R"({"development": {"chat": [{"host": "h", "port": 1}]}})"),
              "cfg/servers.json: development.chat[0].id: missing");
    EXPECT_EQ(msg(R"({"development": {"chat": [{"id": "a", "host": "h", "port": 70000}]}})"),
              "cfg/servers.json: development.chat[0].port: expected an integer in 1..65535, got 70000");
    EXPECT_EQ(msg(R"({"development": {"chat": [{"id": "a", "host": "h", "port": "80"}]}})"),
              "cfg/servers.json: development.chat[0].port: expected an integer in 1..65535, got \"80\"");
    EXPECT_EQ(msg(R"({"development": {"chat": [{"id": "a", "host": "h", "port": 1},
                                               {"id": "a", "host": "h", "port": 2}]}})"),
              "cfg/servers.json: development.chat[1].id: duplicate server id \"a\"");
    EXPECT_EQ(msg(R"({"development": {"chat": [{"id": "a", "port": 1}]}})"),
              "cfg/servers.json: development.chat[0].host: missing");
}

TEST(Config, AMissingFileIsAConfigError)
{
    EXPECT_EQ(error_of([] { mailroom::load_servers("/nonexistent/servers.json", "development"); }),
              "/nonexistent/servers.json: cannot open the file");
}

TEST(AppOptions, ReadsFlagsAndPomeloStyleArguments)
{
    const char* argv[] = {"app", "--config", "x.json", "env=production", "serverId=chat-2",
                          "--threads=4", "--grace", "500"};
    auto o = mailroom::app_options::from_args(8, argv);
    EXPECT_EQ(o.config, "x.json");
    EXPECT_EQ(o.env, "production");
    EXPECT_EQ(o.server_id, "chat-2");
    EXPECT_EQ(o.threads, 4u);
    EXPECT_EQ(o.grace, std::chrono::milliseconds(500));
}

TEST(AppOptions, RejectsUnknownAndMalformedArguments)
{
    const char* unknown[] = {"app", "--colour", "blue"};
    EXPECT_NE(error_of([&] { mailroom::app_options::from_args(3, unknown); }).find("unknown option"),
              std::string::npos);
    const char* bad_number[] = {"app", "--threads", "many"};
    EXPECT_NE(error_of([&] { mailroom::app_options::from_args(3, bad_number); }).find("threads: expected a number"),
              std::string::npos);
    const char* missing[] = {"app", "--server-id"};
    EXPECT_NE(error_of([&] { mailroom::app_options::from_args(2, missing); }).find("needs a value"),
              std::string::npos);
}

TEST(App, RefusesAServerIdThatIsNotInTheConfig)
{
    auto dir = std::filesystem::temp_directory_path() / ("mailroom-cfg-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "servers.json";
    std::ofstream(file) << R"({"development": {"chat": [{"id": "chat-1", "host": "127.0.0.1", "port": 1}]}})";
    mailroom::app_options o;
    o.config = file;
    o.server_id = "chat-9";
    EXPECT_EQ(error_of([&] { mailroom::basic_app a(o); }),
              file.string() + ": development: no server with id \"chat-9\"");
    o.server_id = "";
    EXPECT_NE(error_of([&] { mailroom::basic_app a(o); }).find("no server id"), std::string::npos);
    std::filesystem::remove_all(dir);
}

// --- the cluster's authentication (docs/guide.md, section 3) -------------------------------

const std::string auth_json = R"({"development": {
    "auth": {"secret_env": "MAILROOM_TEST_CHAT_SECRET"},
    "chat": [{"id": "chat-1", "host": "127.0.0.1", "port": 3150}]}})";

TEST(ConfigAuth, TheAuthObjectIsNotAServerTypeAndNamesWhereTheSecretIs)
{
    ::setenv("MAILROOM_TEST_CHAT_SECRET", "a-secret-of-more-than-16-bytes", 1);
    const auto servers = parse_servers(auth_json, "development");
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_EQ(servers[0].id, "chat-1");
    const auto auth = mailroom::parse_auth(auth_json, "development");
    EXPECT_EQ(auth.secret, "a-secret-of-more-than-16-bytes");
    EXPECT_TRUE(auth.required);
    ::unsetenv("MAILROOM_TEST_CHAT_SECRET");
    const auto e = error_of([] { mailroom::parse_auth(auth_json, "development"); });
    EXPECT_NE(e.find("development.auth.secret_env"), std::string::npos) << e;
    EXPECT_NE(e.find("MAILROOM_TEST_CHAT_SECRET is not set"), std::string::npos) << e;
}

TEST(ConfigAuth, TheSecretMayBeInAFileOrInlineAndIsNeverInAnError)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     ("mailroom-auth-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "secret";
    std::ofstream(file) << "file-secret-0123456789\n";
    const auto a = mailroom::parse_auth(
        R"({"development": {"auth": {"secret_file": ")" + file.string() + R"(", "required": false}}})",
        "development");
    EXPECT_EQ(a.secret, "file-secret-0123456789") << "one trailing newline is not part of it";
    EXPECT_FALSE(a.required);
    EXPECT_EQ(mailroom::parse_auth(R"({"development": {"auth": {"secret": "inline-secret-0123456"}}})",
                                   "development")
                  .secret,
              "inline-secret-0123456");
    const auto short_one = error_of([] {
        mailroom::parse_auth(R"({"development": {"auth": {"secret": "tiny-secret"}}})", "development");
    });
    EXPECT_NE(short_one.find("development.auth.secret"), std::string::npos) << short_one;
    EXPECT_NE(short_one.find("11 bytes"), std::string::npos) << short_one;
    EXPECT_EQ(short_one.find("tiny-secret"), std::string::npos) << "never the secret";
    ::setenv("MAILROOM_TEST_SECOND_SECRET", "second-secret-0123456789", 1);
    EXPECT_NE(error_of([] {
                  mailroom::parse_auth(R"({"development": {"auth": {"secret": "0123456789abcdef", "secret_env": "MAILROOM_TEST_SECOND_SECRET"}}})",
                                       "development");
              }).find("exactly one"),
              std::string::npos);
    ::unsetenv("MAILROOM_TEST_SECOND_SECRET");
    EXPECT_NE(error_of([] {
                  mailroom::parse_auth(R"({"development": {"auth": {"password": "0123456789abcdef"}}})",
                                       "development");
              }).find("unknown key"),
              std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST(ConfigAuth, WithoutAnAuthObjectTheEnvironmentVariableHoldsTheSecret)
{
    const char* json = R"({"development": {"chat": [{"id": "c", "host": "h", "port": 1}]}})";
    ::unsetenv("MAILROOM_CLUSTER_SECRET");
    EXPECT_FALSE(mailroom::parse_auth(json, "development").enabled());
    ::setenv("MAILROOM_CLUSTER_SECRET", "environment-secret-0123", 1);
    EXPECT_EQ(mailroom::parse_auth(json, "development").secret, "environment-secret-0123");
    ::unsetenv("MAILROOM_CLUSTER_SECRET");
}

} // namespace
