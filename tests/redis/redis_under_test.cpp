#include "redis/redis_under_test.hpp"

#include "redis/redis_server.hpp"

#include <mailroom/redis/acceptor.hpp>
#include <mailroom/redis/keys.hpp>
#include <mailroom/redis/mailbox.hpp>
#include <mailroom/redis/protocol.hpp>

#include <atomic>
#include <map>
#include <mutex>

namespace mailroom::test {
namespace {

/// A node nobody serves yet: its calls wait in Redis until a server takes its list.
class reserved_node final : public reserved_address {
public:
    explicit reserved_node(server_info at) { address = std::move(at); }
    void release() override {}
};

class redis_under_test final : public transport_under_test {
public:
    std::string name() const override { return "redis"; }

    mailbox_factory make_mailbox_factory() const override
    {
        return redis::make_mailbox_factory({.default_url = server().url()});
    }

    server_info fresh_address() const override
    {
        return {.transport = "redis",
                .options = {{"redis_url", server().url()},
                            {"redis_node", "node-" + std::to_string(next_.fetch_add(1))}}};
    }

    std::unique_ptr<reserved_address> reserve(asio::io_context&) const override
    {
        return std::make_unique<reserved_node>(fresh_address());
    }

    std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, const server_info& at,
                                            std::size_t max_frame_size) const override
    {
        return redis::make_acceptor(std::move(ex), {.url = at.options.at("redis_url"),
                                                    .node_id = redis::node_of(at),
                                                    .max_frame_size = max_frame_size});
    }

    server_info address_of(const acceptor&, server_info at) const override { return at; }

    std::unique_ptr<raw_link> connect_raw(asio::io_context&, const server_info&) const override
    {
        return nullptr; // every test that needs one is skipped below
    }

    std::shared_ptr<const wire_protocol> protocol() const override { return redis::protocol(); }

    std::string skip_reason(std::string_view test) const override
    {
        static const std::map<std::string_view, std::string_view> skipped{
            {"StoppingTheServerFailsEveryInFlightCallOnceWithDisconnected",
             "a queue has no link to the server: its calls wait in Redis for the next "
             "incarnation (redis_transport_test covers requeueing)"},
            {"CallsFailWithConnectFailedWhenNoServerComesUp",
             "a node that is down is not a connect failure: calls wait in Redis until their "
             "timeout (redis_transport_test covers Redis being down)"},
            {"AnOversizedFrameClosesOnlyThatConnection", "no connection to close: an oversized "
             "request is removed from the queue (redis_transport_test: "
             "MalformedAndOversizedEntriesAreDroppedWithoutHarmingOtherCallers)"},
            {"GarbageClosesOnlyThatConnection", "no connection to close: malformed entries are "
             "removed from the queue (redis_transport_test: "
             "MalformedAndOversizedEntriesAreDroppedWithoutHarmingOtherCallers)"},
            {"AServerRefusingTheProtocolVersionSaysSoBeforeClosing",
             "the Redis protocol has no hello"},
            {"AMailboxClosedLocallyReportsNoCloseAndItsPeerOneClose",
             "the server cannot see a caller go away (its connection closes when idle)"},
            {"APeerClosingIsReportedOnceOnBothEnds",
             "a caller cannot see the server close one caller's connection"},
            {"AConnectionClosedByTheServerDeliversWhatWasSentBeforeIt",
             "a caller cannot see the server close one caller's connection"},
            {"AConnectToNowhereFailsOnceAndReportsNoClose",
             "every node is reachable while Redis is (redis_transport_test covers Redis down)"},
            {"AConnectionTheServerDoesNotTakeIsClosed",
             "a refused request goes back to the queue; the caller sees no connection"},
        };
        auto it = skipped.find(test);
        return it == skipped.end() ? std::string{} : std::string(it->second);
    }

private:
    const redis_server& server() const
    {
        std::lock_guard lock(mu_);
        if (!server_)
            server_ = std::make_unique<redis_server>();
        return *server_;
    }

    mutable std::mutex mu_;
    mutable std::unique_ptr<redis_server> server_;
    mutable std::atomic<int> next_{0};
};

} // namespace

transport_param make_redis_under_test() { return std::make_shared<redis_under_test>(); }

} // namespace mailroom::test
