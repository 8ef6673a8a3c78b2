#pragma once

#include <mailroom/server/server.hpp>

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

    std::mutex mu;
    bool stopped = false;
    std::vector<std::shared_ptr<acceptor>> acceptors;
    std::unordered_map<session*, std::weak_ptr<session>> sessions; // open ones, for stop()
};

} // namespace mailroom::detail
