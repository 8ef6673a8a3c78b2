#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/detail/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <system_error>
#include <utility>

namespace mailroom::tcp {

/** A mail box that only reports why it cannot exist, e.g. a TLS client context that does
    not load: what a transport's mail box factory returns instead of throwing. Its
    `async_connect` handler gets the error, posted to the executor (never inline); `send`
    drops the frame and `close` does nothing.

    @par Thread safety
    Any thread; it holds no state but the error.

    @par Example
    @code
    if (!ctx)
        return std::make_shared<mailroom::tcp::failed_mailbox>(mctx.executor, ec);
    @endcode
*/
class failed_mailbox final : public mailroom::mailbox {
public:
    /// Every `async_connect` completes with `ec` on `ex`.
    failed_mailbox(asio::any_io_executor ex, std::error_code ec) : ex_(std::move(ex)), ec_(ec) {}

    void async_connect(connect_handler handler) override
    {
        asio::post(ex_, [h = std::move(handler), ec = ec_]() mutable { h(ec); });
    }
    void send(frame) override {}
    void close() override {}

private:
    asio::any_io_executor ex_;
    std::error_code ec_;
};

} // namespace mailroom::tcp
