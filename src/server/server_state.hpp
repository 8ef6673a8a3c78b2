#pragma once

#include <mailroom/server/server.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mailroom::detail {

class session;

/// What the sessions of one server share. Sessions hold it weakly.
struct server_state {
    asio::any_io_executor executor;
    server_options options;
    dispatcher disp;

    /// Calls received and not answered; shared with their responders.
    std::shared_ptr<std::atomic<std::size_t>> in_flight =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::atomic<bool> draining{false};

    std::mutex mu;
    bool stopped = false;
    std::vector<std::shared_ptr<acceptor>> acceptors;
    std::unordered_map<session*, std::weak_ptr<session>> sessions; // open ones, for stop()
};

} // namespace mailroom::detail
