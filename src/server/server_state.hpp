#pragma once

#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/log_limiter.hpp>
#include <mailroom/server/server.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mailroom::detail {

class session;

/// What the sessions of one server share.
struct server_state {
    // The options come first: the limiters below are made from them.
    server_state(asio::any_io_executor ex, server_options o)
        : executor(std::move(ex)), options(std::move(o))
    {
    }

    asio::any_io_executor executor;
    server_options options;
    dispatcher disp;
    server_filters filters;

    /// Calls received and not answered.
    std::atomic<std::size_t> in_flight{0};
    std::atomic<bool> draining{false};
    /// This incarnation's registry epoch, told in the hello_ack; 0: none.
    std::atomic<std::uint64_t> epoch{0};

    struct counters_type {
        std::atomic<std::uint64_t> busy{0}, deadline_exceeded{0}, shutting_down{0},
            protocol_errors{0}, remote_errors{0}, write_overflows{0}, auth_refused{0};
    } counters;

    /// Counts a call answered with `ec`.
    void count(std::error_code ec) noexcept;

    /// Rate-limits warnings about bad connections per peer address.
    log_limiter warnings{options.warning_limit};
    /// The same for authentication refusals, kept apart so that other warnings about a peer
    /// never hide its first refusal.
    log_limiter auth_warnings{options.warning_limit};

    std::mutex mu;
    bool stopped = false;
    std::vector<std::shared_ptr<acceptor>> acceptors;
    std::unordered_map<session*, std::weak_ptr<session>> sessions; // open ones, for stop()
};

} // namespace mailroom::detail
