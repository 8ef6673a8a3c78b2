#pragma once

// A C++ chat server and a C++ client on the pomelo transport, shared by the end-to-end tests
// (C++ on both ends) and the interop tests (a stock Node pomelo-rpc peer on one end).

#include <mailroom/client.hpp>
#include <mailroom/pomelo.hpp>
#include <mailroom/remote.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace mailroom::test {

namespace asio = boost::asio;

struct player {
    std::string name;
    int level = 0;
    std::vector<std::string> tags;
    MSGPACK_DEFINE_MAP(name, level, tags)
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(player, name, level, tags)
    bool operator==(const player&) const = default;
};

/// Two results of a remote as the fields of a struct: `cb(null, count, state)`.
struct room_stats {
    int count = 0;
    std::string state;
    using pomelo_results = void;
    auto tie() { return std::tie(count, state); }
    auto tie() const { return std::tie(count, state); }
    bool operator==(const room_stats&) const = default;
};

/// What the stock Node server of tests/interop/pomelo/remote/echoRemote.js serves, declared
/// once in C++: a typed stub calls it.
MAILROOM_REMOTE(echo_remote, echoRemote,
    (echo, std::string(std::string value))
    (add, std::int64_t(std::int64_t a, std::int64_t b))
    (size, std::size_t(std::string text)));

/// The C++ chat server: serves `user.chatRemote.*` on a pomelo acceptor (loopback, port 0).
class chat_server {
public:
    chat_server(asio::io_context& ioc, bool batch)
        : server_(ioc.get_executor(), {.server_id = "cpp-chat-1"})
    {
        auto& d = server_.get_dispatcher();
        d.add("chatRemote", "echo", [](nlohmann::json v) { return v; });
        d.add("chatRemote", "echoString", [](std::string s) { return s; });
        d.add("chatRemote", "add", [](std::int64_t a, std::int64_t b) { return a + b; });
        d.add("chatRemote", "mul", [](double a, double b) { return a * b; });
        d.add("chatRemote", "pair", [](std::string s, int n) {
            return pomelo::results<std::string, int>{std::move(s), n};
        });
        d.add("chatRemote", "stats", [](int count) { return room_stats{count, "open"}; });
        d.add("chatRemote", "promote", [](player p) {
            ++p.level;
            return p;
        });
        d.add("chatRemote", "fail", [](std::string m) -> int { throw std::runtime_error(m); });
        d.add("chatRemote", "size", [](std::string s) { return s.size(); });
        d.add("chatRemote", "note", [this](std::string s) {
            std::lock_guard lock(mu_);
            note_ = std::move(s);
        });
        d.add("chatRemote", "lastNote", [this] {
            std::lock_guard lock(mu_);
            return note_;
        });
        acceptor_ = pomelo::make_acceptor(ioc.get_executor(),
                                          {.port = 0, .link = {.batch = batch,
                                                               .keepalive_interval = {},
                                                               .keepalive_timeout = {}}});
        EXPECT_FALSE(server_.listen(acceptor_, pomelo::make_protocol()));
    }

    std::uint16_t port() const { return acceptor_->port(); }
    std::size_t open_connections() const { return acceptor_->open_connections(); }

private:
    mailroom::server server_;
    std::shared_ptr<tcp::acceptor> acceptor_;
    std::mutex mu_;
    std::string note_;
};

/// An io_context on two threads, a mail station with the pomelo transport, and a proxy.
class pomelo_client {
public:
    explicit pomelo_client(pomelo::link_options link = {},
                           mail_station_options options = {.client_id = "cpp-client"})
    {
        for (int i = 0; i < 2; ++i)
            threads_.emplace_back([this] { ioc_.run(); });
        station_.emplace(ioc_.get_executor(), std::move(options));
        station_->add_transport("pomelo", pomelo::make_mailbox_factory(link),
                                pomelo::make_protocol());
        proxy_.emplace(*station_, router_);
    }

    ~pomelo_client()
    {
        proxy_.reset();
        station_.reset();
        server_.reset();
        work_.reset(); // the threads return once the closes above ran
        for (auto& t : threads_)
            t.join();
    }

    asio::io_context& ioc() { return ioc_; }
    mail_station& station() { return *station_; }
    proxy& rpc() { return *proxy_; }

    /// Starts a C++ chat server on this client's io_context.
    chat_server& start_server(bool batch)
    {
        server_.emplace(ioc_, batch);
        return *server_;
    }

    void add_server(std::string id, std::string type, std::uint16_t port, bool buffer = false)
    {
        server_info s{.id = std::move(id), .server_type = std::move(type), .host = "127.0.0.1",
                      .port = port, .transport = "pomelo"};
        if (buffer)
            s.options.emplace("bufferMsg", "true");
        station_->add_server(std::move(s));
    }

    /// One call, waited for: (error, result), with the remote's message in `diag`.
    template <class R, class Args>
    std::pair<std::error_code, R> call(const std::string& id, protocol::method_path path,
                                       const Args& args, diagnostics* diag = nullptr,
                                       std::chrono::milliseconds timeout = {})
    {
        std::promise<std::pair<std::error_code, R>> done;
        proxy_->async_call_to<R>(id, path, args, call_options{.timeout = timeout, .diag = diag},
                                 [&](std::error_code ec, R r) { done.set_value({ec, std::move(r)}); });
        return done.get_future().get();
    }

private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::vector<std::thread> threads_;
    std::optional<mail_station> station_;
    router router_;
    std::optional<proxy> proxy_;
    std::optional<chat_server> server_;
};

} // namespace mailroom::test
