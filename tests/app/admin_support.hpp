#pragma once

#include "remote/contract.hpp"

#include <mailroom/app/app.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace mailroom::test {

namespace http = boost::beast::http;

/// game_remote whose slow_double answers after `delay` (a timer: the server's thread stays
/// free), for the slow-call ring.
struct slow_game : game_impl {
    std::chrono::milliseconds delay{40};
    boost::asio::awaitable<int> slow_double(int x)
    {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, delay);
        co_await t.async_wait(boost::asio::use_awaitable);
        co_return 2 * x;
    }
};

inline std::uint16_t free_tcp_port()
{
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

/// A servers.json with a "game" and a "connector" server on free ports; `game_extra` is
/// added to the game's entry (e.g. `, "admin_port": 0`).
struct admin_cluster_config {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("mailroom-admin-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::path file = dir / "servers.json";

    explicit admin_cluster_config(std::string game_extra = "")
    {
        std::filesystem::create_directories(dir);
        std::ofstream(file) << R"({"development": {
            "game": [{"id": "game-1", "host": "127.0.0.1", "port": )" << free_tcp_port()
                            << game_extra << R"(}],
            "connector": [{"id": "connector-1", "host": "127.0.0.1", "port": )"
                            << free_tcp_port() << R"(}]}})";
    }
    ~admin_cluster_config() { std::filesystem::remove_all(dir); }

    mailroom::app_options options(std::string id) const
    {
        mailroom::app_options o;
        o.config = file;
        o.server_id = std::move(id);
        o.threads = 2;
        o.log.min_level = mailroom::log_level::off;
        o.station.log.min_level = mailroom::log_level::off;
        o.server.log.min_level = mailroom::log_level::off;
        return o;
    }
};

/// A socket connected to 127.0.0.1:`port` whose reads give up after `limit` (a safety net:
/// a server that never answers fails the test instead of hanging it).
inline boost::asio::ip::tcp::socket connect_local(boost::asio::io_context& ioc, std::uint16_t port,
                                                  std::chrono::seconds limit = std::chrono::seconds(20))
{
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    timeval tv{static_cast<time_t>(limit.count()), 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

/// GET (or another method) `target` over a new connection; the parsed response.
inline http::response<http::string_body> http_request(std::uint16_t port, std::string target,
                                                      http::verb verb = http::verb::get)
{
    boost::asio::io_context ioc;
    auto s = connect_local(ioc, port);
    http::request<http::string_body> req(verb, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
}

/// Sends `bytes` raw, then reads everything until the server closes (or the read limit).
inline std::string raw_exchange(std::uint16_t port, std::string_view bytes)
{
    boost::asio::io_context ioc;
    auto s = connect_local(ioc, port);
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    std::string out;
    char buf[4096];
    for (;;) {
        const auto n = s.read_some(boost::asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec)
            break;
    }
    return out;
}

} // namespace mailroom::test
