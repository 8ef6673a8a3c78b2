// A node on the Redis transport in a process of its own, for the crash tests:
//   redis_test_server <redis-url> <node-id> <hang|serve> <lease-ms>
// It serves work.add(a, b). "hang" takes calls and never answers them (until it is killed);
// "serve" answers them. Each execution is recorded with RPUSH executions <a>, so a test can
// count how often each call ran.
#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/protocol.hpp>
#include <mailroom/redis/url.hpp>
#include <mailroom/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <hiredis/hiredis.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::cerr << "usage: redis_test_server <redis-url> <node-id> <hang|serve> <lease-ms>\n";
        return 2;
    }
    const std::string url = argv[1], node = argv[2], mode = argv[3];
    const auto lease = std::chrono::milliseconds(std::stol(argv[4]));
    auto where = mailroom::redis::parse_url(url);
    if (!where)
        return 2;

    boost::asio::io_context ioc;
    mailroom::server srv(ioc.get_executor(), {.server_id = node});
    std::mutex mu;
    std::vector<mailroom::responder> held;
    redisContext* log = redisConnect(where->host.c_str(), where->port);
    srv.get_dispatcher().add_raw(
        "user", "work", "add",
        [&](const mailroom::call_context&, const mailroom::value_view& args, mailroom::responder r) {
            std::tuple<int, int> ab{};
            if (!args.convert(ab)) {
                r.send(-1);
                return;
            }
            auto [a, b] = ab;
            std::lock_guard lock(mu);
            redisReply* rep = static_cast<redisReply*>(
                redisCommand(log, "RPUSH executions %s", std::to_string(a).c_str()));
            if (rep)
                freeReplyObject(rep);
            if (mode == "hang")
                held.push_back(std::move(r));
            else
                r.send(a + b);
        });
    auto acc = mailroom::redis::make_acceptor(ioc.get_executor(),
                                              {.url = url, .node_id = node, .lease_ttl = lease});
    if (auto ec = srv.listen(acc, mailroom::redis::protocol())) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](auto, int) {
        srv.stop();
        ioc.stop();
    });
    ioc.run();
    redisFree(log);
    return 0;
}
