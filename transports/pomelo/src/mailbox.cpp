#include "link.hpp"

#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/pomelo/mailbox.hpp>
#include <mailroom/pomelo/mqtt.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <string>

namespace mailroom::pomelo {
namespace {

/// A client id as the stock client makes one ("MQTT_RPC_" + time), unique per process run.
std::string client_id()
{
    static std::atomic<std::uint64_t> n{0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return "MQTT_RPC_" + std::to_string(ms) + "_" + std::to_string(n.fetch_add(1));
}

template <class Strand>
class pomelo_mailbox final : public mailroom::mailbox, public detail::mqtt_link<Strand> {
    using base = detail::mqtt_link<Strand>;
    using resolver_type = asio::ip::basic_resolver<asio::ip::tcp, Strand>;

public:
    pomelo_mailbox(const mailbox_context& ctx, Strand strand, const link_options& options)
        : base(typename base::socket_type(strand), options), handler_(ctx.handler),
          host_(ctx.server.host), port_(std::to_string(ctx.server.port)), resolver_(strand)
    {
    }

    void async_connect(connect_handler handler) override
    {
        asio::post(this->executor(), [self = self(), h = std::move(handler)]() mutable {
            self->resolve(std::move(h));
        });
    }

    void send(frame f) override { this->send_body(std::move(f)); }
    void close() override { this->close_link(false); }
    std::size_t queued_bytes() const noexcept override { return this->queued(); }

private:
    std::shared_ptr<pomelo_mailbox> self()
    {
        return std::static_pointer_cast<pomelo_mailbox>(this->shared_from_this());
    }

    static std::error_code failed(const boost::system::error_code& ec)
    {
        return ec ? mailroom::detail::to_std_error(ec)
                  : std::make_error_code(std::errc::operation_canceled);
    }

    void resolve(connect_handler h)
    {
        if (this->closing())
            return h(failed({}));
        resolver_.async_resolve(
            host_, port_,
            [self = self(), h = std::move(h)](const boost::system::error_code& ec,
                                              typename resolver_type::results_type r) mutable {
                if (ec || self->closing())
                    return h(failed(ec));
                asio::async_connect(self->socket(), r,
                                    [self, h = std::move(h)](const boost::system::error_code& ec,
                                                             const asio::ip::tcp::endpoint&) mutable {
                                        if (ec || self->closing())
                                            return h(failed(ec));
                                        self->connected_ = true;
                                        // CONNECT leaves first; no CONNACK is awaited.
                                        self->start(mqtt::connect_packet(client_id()));
                                        h({});
                                    });
            });
    }

    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void stall_changed(bool stalled) override
    {
        if (connected_)
            handler_->on_stall(stalled);
    }

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
    resolver_type resolver_;
    bool connected_ = false; // strand only
};

bool option_true(const server_info& s, std::string_view key)
{
    auto it = s.options.find(key);
    return it != s.options.end() && (it->second == "true" || it->second == "1");
}

} // namespace

mailbox_factory make_mailbox_factory(link_options options)
{
    return [options](const mailbox_context& ctx) -> std::shared_ptr<mailroom::mailbox> {
        link_options o = options;
        if (option_true(ctx.server, "bufferMsg"))
            o.batch = true;
        o.max_packet_size = std::max(o.max_packet_size, ctx.max_frame_size);
        return tcp::with_strand(ctx.executor, [&](auto strand) -> std::shared_ptr<mailroom::mailbox> {
            return std::make_shared<pomelo_mailbox<decltype(strand)>>(ctx, strand, o);
        });
    };
}

} // namespace mailroom::pomelo
