#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/detail/unique_function.hpp>
#include <mailroom/redis/reply.hpp>
#include <mailroom/redis/url.hpp>

#include <boost/asio/strand.hpp>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailroom::redis {

/** One RESP connection to Redis over Asio: commands are pipelined, and their replies
    complete in the order the commands were issued. Commands are written as RESP here and
    hiredis only parses replies; every byte moves through Asio and nothing blocks a thread.

    A blocking command (BRPOP, BLMOVE) blocks the whole connection in Redis, so a reader
    that blocks gets a connection of its own. A connection is used once: after it is lost,
    its owner creates a new one (and decides the backoff).

    @par Thread safety
    `exec` and `close` may be called from any thread. Handlers run on the connection's
    strand (@ref get_executor), one at a time: the executor given to @ref create when it is a
    `strand_type` (so an owner that passes its own strand gets every handler on it), else a
    strand made on it.

    @par Example
    @code
    auto c = mailroom::redis::connection::create(ex, *mailroom::redis::parse_url("redis://127.0.0.1:6379"));
    c->async_connect([c](std::error_code ec) { if (!ec) c->exec({"PING"}, [](auto, auto) {}); });
    @endcode
*/
class connection : public std::enable_shared_from_this<connection> {
public:
    using reply_handler = mailroom::detail::unique_function<void(std::error_code, reply)>;
    using connect_handler = mailroom::detail::unique_function<void(std::error_code)>;
    using strand_type = asio::strand<asio::any_io_executor>;

    static std::shared_ptr<connection> create(asio::any_io_executor ex, url where,
                                              std::chrono::milliseconds connect_timeout =
                                                  std::chrono::milliseconds(2000));
    ~connection();

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /** Connects, sends AUTH and SELECT as the URL asks, then PING. The handler runs once on
        the strand: empty, `error::unreachable`, or `error::auth_failed`. Call once.
    */
    void async_connect(connect_handler handler);

    /** Issues one command (commands issued before the connect completes wait for it). The
        handler gets the reply, `error::command_failed` with the error reply, or the error
        that ended the connection. Every handler runs exactly once.
    */
    void exec(std::vector<std::string> args, reply_handler handler);
    void exec(std::initializer_list<std::string_view> args, reply_handler handler);

    /** Receives, on the strand, the replies no command waits for: the messages of a
        subscribed connection (SUBSCRIBE's own confirmation still goes to its handler).
        Without it such a reply is a protocol error that closes the connection. Dropped
        when the connection closes (so that it never keeps its owner alive); a handler given
        after that is dropped at once.
    */
    void on_push(std::function<void(reply)> handler);

    /** Called once, on the strand, when an open connection goes down (not after `close`),
        then dropped. Given after the connection went down, it is called at once (posted)
        if nobody was told; after `close`, it is dropped.
    */
    void on_lost(std::function<void(std::error_code)> handler);

    /// Closes the socket; pending handlers complete with `error::connection_lost`, and the
    /// push and lost handlers are dropped. Idempotent.
    void close();

    strand_type get_executor() const noexcept;

    struct impl; // private to src/connection.cpp

private:
    explicit connection(asio::any_io_executor ex, url where, std::chrono::milliseconds timeout);
    std::unique_ptr<impl> impl_;
};

/** Connects `a` and `b` (a command connection and a blocking one, say) and runs `done` once,
    on `ex`, when both completed: with the first error, or none. Owners that reconnect check in
    `done` that `a` is still their current connection.
*/
void connect_both(const std::shared_ptr<connection>& a, const std::shared_ptr<connection>& b,
                  asio::any_io_executor ex,
                  mailroom::detail::unique_function<void(std::error_code)> done);

} // namespace mailroom::redis
