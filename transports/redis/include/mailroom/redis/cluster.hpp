#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/url.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailroom::redis {

/** Whether `text` names a Redis Cluster: `redis+cluster://...` (see @ref parse_cluster_url). */
bool is_cluster_url(std::string_view text) noexcept;

/** Parses `redis+cluster://[:password@]host:port[,host:port]...`: the seed nodes a cluster's
    slot map is first read from (any master or replica; one is enough). The password is used
    for every node of the cluster. A database other than 0 is refused (a cluster has only 0).
    Nothing for malformed input (never throws).

    @par Example
    @code
    auto seeds = mailroom::redis::parse_cluster_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7000");
    @endcode
*/
std::optional<std::vector<url>> parse_cluster_url(std::string_view text) noexcept;

/** The command side of a Redis Cluster: routes each command to the master that serves its
    key's slot, over one @ref connection per master, and follows redirections.

    - `MOVED <slot> <host:port>`: the slot's entry is updated, the whole map is read again
      (`CLUSTER SLOTS`, once for many MOVED replies), and the command is sent again to the
      new master.
    - `ASK <slot> <host:port>`: `ASKING`, then the command, on that node's connection, for
      this command only (the slot is being migrated; the map does not change).
    - `TRYAGAIN` (a multi-key command during a migration): sent again after 20 ms.

    At most 5 redirections per command; then the last error reply is the result.

    Blocking commands do not go through @ref exec (they would block the shared connection):
    their owner opens a connection of its own to @ref master_of the key, and when that
    command answers `MOVED`, it calls @ref refresh and opens one to the new master.

    @par Thread safety
    Unsafe: every member is called on the executor given to @ref create (a strand), and every
    handler runs there (the connections run their handlers through it).

    @par Example
    @code
    auto c = mailroom::redis::cluster::create(strand, *mailroom::redis::parse_cluster_url(text));
    c->async_connect([c](std::error_code ec) { if (!ec) c->exec("k", {"GET", "k"}, [](auto, auto)
   {}); });
    @endcode
*/
class cluster : public std::enable_shared_from_this<cluster>
{
public:
    using reply_handler = connection::reply_handler;
    using connect_handler = connection::connect_handler;

    static std::shared_ptr<cluster>
    create(asio::any_io_executor strand, std::vector<url> seeds,
           std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(2000));

    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;
    ~cluster();

    /** Reads the slot map from the first seed that answers `CLUSTER SLOTS`. The handler runs
        once: empty, or `error::unreachable` when no seed answered with a map that covers every
        slot. Call once.
    */
    void async_connect(connect_handler handler);

    /** Sends `args` to the master of `key`'s slot, following redirections. The handler runs
        once with the reply, `error::command_failed` with an error reply, or
        `error::connection_lost`.
    */
    void exec(std::string_view key, std::vector<std::string> args, reply_handler handler);

    /// The master that serves `key`'s slot, as the map says now (after @ref async_connect).
    url master_of(std::string_view key) const;

    /** Reads the slot map again, from any node with an open connection. The handler runs
        once: empty, or the error (the old map stays).
    */
    void refresh(connect_handler handler);

    /// Called once when a connection to a master goes down or cannot be opened (after the
    /// first connect). The owner closes this cluster and makes a new one. Dropped by `close`
    /// (so that it never keeps its owner alive); one given after `close` is dropped at once.
    void on_lost(std::function<void(std::error_code)> handler);

    /// Closes every connection; pending handlers complete with `error::connection_lost`.
    void close();

    /// For make_shared only.
    struct private_tag
    {
    };
    cluster(private_tag, asio::any_io_executor strand, std::vector<url> seeds,
            std::chrono::milliseconds connect_timeout);

private:
    struct command;
    void send(std::shared_ptr<command> c, std::optional<std::string> ask);
    bool redirected(const std::shared_ptr<command>& c, const reply& r);
    std::shared_ptr<connection> connection_to(const std::string& address);
    std::uint16_t master_index(const std::string& address);
    void load(std::shared_ptr<connection> from, std::string host, connect_handler handler);
    void try_seed(std::size_t i, connect_handler handler);
    void lost(std::error_code ec);

    asio::any_io_executor strand_;
    std::vector<url> seeds_;
    std::chrono::milliseconds connect_timeout_;
    /// "host:port" of each master known; slots_ indexes it.
    std::vector<std::string> masters_;
    std::array<std::uint16_t, 16384> slots_{};
    std::unordered_map<std::string, std::shared_ptr<connection>> conns_;
    std::function<void(std::error_code)> on_lost_;
    bool started_ = false;
    bool closed_ = false;
    bool refreshing_ = false;
};

} // namespace mailroom::redis
