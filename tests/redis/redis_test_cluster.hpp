#pragma once

// A Redis Cluster of three masters (no replicas) for the Redis transport's tests: three
// redis-server processes with `cluster-enabled yes` on free loopback ports, joined with
// `redis-cli --cluster create`, stopped with the fixture.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "redis/redis_server.hpp"

namespace mailroom::test {

class redis_test_cluster
{
public:
    /// Starts the three nodes and waits until each says `cluster_state:ok`. Throws otherwise.
    redis_test_cluster();
    ~redis_test_cluster();

    redis_test_cluster(const redis_test_cluster&) = delete;
    redis_test_cluster& operator=(const redis_test_cluster&) = delete;

    /// redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2> (two seeds of three, on purpose).
    std::string url() const;

    static constexpr std::size_t size = 3;
    redis_server& node(std::size_t i) { return *nodes_[i]; }

    /// The index of the node that serves `slot`, as node 0 sees it.
    std::size_t master_of(std::uint16_t slot) const;

    /** Moves `slot` to node `to` the way `redis-cli --cluster reshard` does: @ref
        begin_migration, then @ref end_migration. Clients see ASK while it runs and MOVED
        afterwards.
    */
    void move_slot(std::uint16_t slot, std::size_t to);

    /** IMPORTING on node `to`, MIGRATING on the slot's master, and MIGRATE of every key in
        the slot: the source answers ASK for keys it no longer has (new keys go to `to`).
    */
    void begin_migration(std::uint16_t slot, std::size_t to);

    /// CLUSTER SETSLOT NODE on every node, the target first; waits until node 0 agrees.
    void end_migration(std::uint16_t slot, std::size_t to);

    /// Runs a command on the node that serves `key` (see redis_server::command).
    std::string command(const std::string& key, const std::vector<std::string>& args) const;

private:
    std::vector<std::unique_ptr<redis_server>> nodes_;
    std::vector<std::string> ids_;
};

/// A free loopback port below 55535 whose cluster bus port (port + 10000) is free too.
std::uint16_t free_cluster_port();

} // namespace mailroom::test
