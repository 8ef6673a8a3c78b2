#pragma once

// Private to the TCP transport.

#include <mailroom/client/mailbox.hpp>
#include <mailroom/detail/config.hpp>

#include <boost/asio/post.hpp>

#include <system_error>
#include <utility>

namespace mailroom::tcp::detail {

/// A mail box that only reports why it cannot exist (a TLS context that does not load).
class failed_mailbox final : public mailroom::mailbox {
public:
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

} // namespace mailroom::tcp::detail
