// filters: rpcLog and toobusy on both ends, plus two filters of your own.
//
// One process hosts an "inventory" server and calls it over loopback TCP. Every call is
// logged on both ends with its duration; the server sheds load with server_busy; a client
// filter tags calls to a server under maintenance as rejected before they leave; a server
// filter refuses callers it does not know. Prints what happened; exits 0 if it all did.
//
// usage: filters

#include <mailroom/mailroom.hpp> // the core: App, remotes, stubs, routes, filters, errors
#include <mailroom/tcp.hpp>      // the TCP transport (CMake target mailroom::tcp)

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <tuple>

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A client filter: calls to servers under maintenance fail at once, before they leave.
class maintenance : public mailroom::client_filter {
public:
    explicit maintenance(std::set<std::string> down) : down_(std::move(down)) {}

    void before(mailroom::filter_call& call, mailroom::filter_next next) override
    {
        if (down_.contains(call.target))
            return next(mailroom::error::server_busy); // the caller gets server_busy
        next();                                        // let the call go on
    }

private:
    std::set<std::string> down_;
};

// A server filter: only known callers are served; the handler of a refused call never runs.
class known_callers : public mailroom::server_filter {
public:
    explicit known_callers(std::set<std::string> ids) : ids_(std::move(ids)) {}

    void before(mailroom::filter_call& call, mailroom::filter_next next) override
    {
        next(ids_.contains(call.source) ? std::error_code{}
                                        : make_error_code(mailroom::error::remote_error));
    }

    void after(const mailroom::filter_call& call, std::error_code ec,
               std::chrono::nanoseconds elapsed) override
    {
        std::printf("  served %s.%s for %s: %s (%lld us)\n", call.service.c_str(),
                    call.method.c_str(), call.source.c_str(), ec ? ec.message().c_str() : "ok",
                    static_cast<long long>(elapsed.count() / 1000));
    }

private:
    std::set<std::string> ids_;
};

int main()
{
    asio::io_context ioc;
    mailroom::logger log{.min_level = mailroom::log_level::info,
                         .sink = [](mailroom::log_level, std::string_view line) {
                             std::printf("  log: %.*s\n", static_cast<int>(line.size()), line.data());
                         }};

    // The server and its filters: rpc_log, then too_busy, then our own.
    mailroom::server server(ioc.get_executor(), {.server_id = "inventory-1"});
    server.get_dispatcher().add("inventoryRemote", "count", [](std::string item) {
        return static_cast<int>(item.size());
    });
    server.filters().add(std::make_shared<mailroom::filters::rpc_log>(
        mailroom::filters::rpc_log_options{.log = log, .slow = 100ms}));
    server.filters().add(std::make_shared<mailroom::filters::server_too_busy>(
        ioc.get_executor(), [&server] { return server.in_flight(); },
        mailroom::filters::too_busy_options{.max_lag = 70ms, .max_in_flight = 1000}));
    server.filters().add(std::make_shared<known_callers>(std::set<std::string>{"shop-1"}));
    auto acceptor = mailroom::tcp::make_acceptor(ioc.get_executor(), {.port = 0});
    if (server.listen(acceptor))
        return 1;

    // The client and its filters: rpc_log for every call, maintenance for one server type.
    mailroom::mail_station station(ioc.get_executor(), {.client_id = "shop-1"});
    station.add_transport("tcp", mailroom::tcp::make_mailbox_factory());
    station.add_server({.id = "inventory-1", .server_type = "inventory", .host = "127.0.0.1",
                        .port = acceptor->port()});
    station.add_server({.id = "inventory-2", .server_type = "inventory", .host = "127.0.0.1",
                        .port = acceptor->port()});
    mailroom::client_filters filters;
    filters.add(std::make_shared<mailroom::filters::rpc_log>(mailroom::filters::rpc_log_options{.log = log}));
    filters.add(std::make_shared<mailroom::filters::client_too_busy>(ioc.get_executor()));
    filters.add("inventory", std::make_shared<maintenance>(std::set<std::string>{"inventory-2"}));
    mailroom::router router;
    mailroom::proxy rpc(station, router, &filters);

    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    const mailroom::protocol::method_path count{.server_type = "inventory",
                                                .service = "inventoryRemote", .method = "count"};
    std::printf("a call to inventory-1:\n");
    auto served = rpc.async_call_to<int>("inventory-1", count, std::tuple{std::string("sword")},
                                         asio::use_future);
    auto [ec1, n] = served.get();
    std::printf("  -> %s, %d\n", ec1 ? ec1.message().c_str() : "ok", n);
    std::printf("a call to inventory-2, under maintenance:\n");
    auto refused = rpc.async_call_to<int>("inventory-2", count, std::tuple{std::string("shield")},
                                          asio::use_future);
    auto [ec2, unused] = refused.get();
    std::printf("  -> %s\n", ec2.message().c_str());

    // Shut down: the filters' lag monitors stop with their chains, so run() runs out of work.
    station.close();
    server.stop();
    filters.close();
    work.reset();
    io.join();
    const bool ok = !ec1 && n == 5 && ec2 == mailroom::error::server_busy;
    std::printf("%s\n", ok ? "filters: all as expected" : "filters: FAILED");
    return ok ? 0 : 1;
}
