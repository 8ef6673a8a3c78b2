#include "framed_stream.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/tcp/mailbox.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <string>

namespace mailroom::tcp {
namespace {

class tcp_mailbox final : public mailroom::mailbox, public detail::framed_stream {
public:
    tcp_mailbox(const mailbox_context& ctx, const stream_options& options)
        : framed_stream(socket_type(asio::make_strand(ctx.executor)), options, ctx.max_frame_size),
          handler_(ctx.handler), host_(ctx.server.host), port_(std::to_string(ctx.server.port)),
          resolver_(socket().get_executor()), no_delay_(options.no_delay)
    {
    }

    void async_connect(connect_handler handler) override
    {
        asio::post(socket().get_executor(), [self = self(), h = std::move(handler)]() mutable {
            self->resolve(std::move(h));
        });
    }

    void send(frame f) override { send_frame(std::move(f)); }

    void close() override { close_stream(false); }

    std::size_t queued_bytes() const noexcept override { return queued(); }

private:
    std::shared_ptr<tcp_mailbox> self()
    {
        return std::static_pointer_cast<tcp_mailbox>(shared_from_this());
    }

    void resolve(connect_handler h)
    {
        if (closing())
            return h(std::make_error_code(std::errc::operation_canceled));
        resolver_.async_resolve(
            host_, port_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                              asio::ip::tcp::resolver::results_type results) mutable {
                if (ec || self->closing())
                    return h(ec ? mailroom::detail::to_std_error(ec)
                                : std::make_error_code(std::errc::operation_canceled));
                self->connect(results, std::move(h));
            });
    }

    void connect(const asio::ip::tcp::resolver::results_type& results, connect_handler h)
    {
        asio::async_connect(socket(), results,
                            [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                                              const asio::ip::tcp::endpoint&) mutable {
                                if (ec || self->closing())
                                    return h(ec ? mailroom::detail::to_std_error(ec)
                                                : std::make_error_code(std::errc::operation_canceled));
                                boost::system::error_code ignored;
                                self->socket().set_option(asio::ip::tcp::no_delay(self->no_delay_),
                                                          ignored);
                                self->connected_ = true;
                                self->start();
                                h({});
                            });
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void closed(std::error_code ec, bool local) override
    {
        resolver_.cancel();
        // The station closed us itself, or never saw us connect: it expects no on_close.
        if (!local && connected_)
            handler_->on_close(ec);
    }

    std::shared_ptr<mailbox_handler> handler_;
    std::string host_;
    std::string port_;
    asio::ip::tcp::resolver resolver_;
    bool no_delay_;
    bool connected_ = false; // strand only
};

} // namespace

mailbox_factory make_mailbox_factory(stream_options options)
{
    return [options](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        return std::make_shared<tcp_mailbox>(ctx, options);
    };
}

} // namespace mailroom::tcp
