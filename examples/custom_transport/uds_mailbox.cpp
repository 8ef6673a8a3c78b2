// The client half: a mail box that connects to a socket path.

#include "uds_link.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace uds {
namespace {

class uds_mailbox final : public mailroom::mailbox, public link {
public:
    uds_mailbox(const mailroom::mailbox_context& ctx, const link_options& options)
        : link(stream_protocol::socket(asio::make_strand(ctx.executor)), options,
               ctx.max_frame_size, ctx.protocol),
          handler_(ctx.handler), path_(socket_path(ctx.server))
    {
    }

    void async_connect(connect_handler handler) override
    {
        // Rule: never complete inline. Even the connect starts from the strand.
        asio::post(executor(), [self = self(), h = std::move(handler)]() mutable {
            if (self->closing())
                return h(std::make_error_code(std::errc::operation_canceled));
            self->socket().async_connect(
                stream_protocol::endpoint(self->path_),
                [self, h = std::move(h)](const boost::system::error_code& ec) mutable {
                    if (ec || self->closing())
                        return h(ec ? to_std(ec)
                                    : std::make_error_code(std::errc::operation_canceled));
                    self->connected_ = true;
                    self->start();
                    h({});
                });
        });
    }

    void send(mailroom::frame f) override { send_frame(std::move(f)); }
    void close() override { close_link(false); }
    std::size_t queued_bytes() const noexcept override { return queued(); }

private:
    std::shared_ptr<uds_mailbox> self()
    {
        return std::static_pointer_cast<uds_mailbox>(shared_from_this());
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void closed(std::error_code ec, bool local) override
    {
        // Rule: on_close only for a link that connected and that the station did not close.
        if (!local && connected_)
            handler_->on_close(ec);
    }

    std::shared_ptr<mailroom::mailbox_handler> handler_;
    std::string path_;
    bool connected_ = false; // strand only
};

} // namespace

std::string socket_path(const mailroom::server_info& server)
{
    if (auto it = server.options.find("path"); it != server.options.end())
        return it->second;
    return server.host;
}

mailroom::mailbox_factory make_mailbox_factory(link_options options)
{
    return [options](const mailroom::mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        return std::make_shared<uds_mailbox>(ctx, options);
    };
}

} // namespace uds
