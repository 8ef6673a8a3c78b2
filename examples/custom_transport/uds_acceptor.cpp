// The server half: an acceptor on a socket path, and the connections it hands to the core.

#include "uds_link.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>

namespace uds {
namespace {

class uds_connection final : public mailroom::connection, public link {
public:
    uds_connection(stream_protocol::socket socket, const acceptor_options& o, std::string name)
        : link(std::move(socket), o.link, o.max_frame_size, o.protocol), name_(std::move(name))
    {
    }

    /// On the strand: attach the core's handler, then start reading.
    void open(std::shared_ptr<mailroom::connection_handler> handler)
    {
        // Rule: on_close exactly once, even if the core closed us before we got here.
        if (finished())
            return handler->on_close(std::make_error_code(std::errc::operation_canceled));
        handler_ = std::move(handler);
        start();
    }

    void send(mailroom::frame f) override { send_frame(std::move(f)); }
    // Rule: the core's close() flushes first, so a refusal reaches the peer.
    void close() override { close_link(true); }
    std::string remote_address() const override { return name_; }
    std::size_t queued_bytes() const noexcept override { return queued(); }

private:
    void deliver(std::span<const char> body) override { handler_->on_message(body); }

    void closed(std::error_code ec, bool) override
    {
        // Rule: on_close exactly once. Dropping the handler breaks the session <-> link cycle.
        if (auto h = std::move(handler_))
            h->on_close(ec);
    }

    std::shared_ptr<mailroom::connection_handler> handler_;
    std::string name_;
};

class uds_acceptor final : public mailroom::acceptor,
                           public std::enable_shared_from_this<uds_acceptor> {
public:
    uds_acceptor(asio::any_io_executor ex, acceptor_options options)
        : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), acceptor_(strand_),
          retry_(strand_), options_(std::move(options))
    {
    }

    std::error_code start(mailroom::accept_handler on_accept) override
    {
        boost::system::error_code ec;
        if (std::filesystem::is_socket(options_.path)) {
            // A live server keeps its path; a file left by a crashed one is replaced.
            stream_protocol::socket probe(ex_);
            if (!probe.connect(stream_protocol::endpoint(options_.path), ec))
                return std::make_error_code(std::errc::address_in_use);
            std::error_code ignored;
            std::filesystem::remove(options_.path, ignored);
        }
        stream_protocol::endpoint ep(options_.path);
        if (acceptor_.open(ep.protocol(), ec) || acceptor_.bind(ep, ec) ||
            acceptor_.listen(asio::socket_base::max_listen_connections, ec))
            return to_std(ec);
        bound_ = true;
        on_accept_ = std::move(on_accept);
        asio::post(strand_, [self = shared_from_this()] { self->do_accept(); });
        return {};
    }

    void close() override
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        closed_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_.cancel();
        std::error_code not_there;
        if (bound_) // never another server's file
            std::filesystem::remove(options_.path, not_there);
    }

    std::string local_address() const override { return "unix:" + options_.path; }

private:
    void do_accept()
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        acceptor_.async_accept(asio::make_strand(ex_),
                               [self = shared_from_this()](const boost::system::error_code& ec,
                                                           stream_protocol::socket socket) {
                                   self->on_accept(ec, std::move(socket));
                               });
    }

    void on_accept(const boost::system::error_code& ec, stream_protocol::socket socket)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) {
            // Out of descriptors and the like: wait instead of spinning on the error.
            std::lock_guard lock(mu_);
            if (closed_)
                return;
            retry_.expires_after(std::chrono::milliseconds(100));
            retry_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e)
                    self->do_accept();
            });
            return;
        }
        {
            auto name = "unix:" + options_.path + "#" + std::to_string(++accepted_);
            auto conn = std::make_shared<uds_connection>(std::move(socket), options_, name);
            // The core returns no handler when the server is stopping.
            if (auto handler = on_accept_(conn))
                asio::post(conn->executor(), [conn, handler] { conn->open(handler); });
            else
                conn->close();
        }
        do_accept();
    }

    asio::any_io_executor ex_;
    asio::strand<asio::any_io_executor> strand_;
    stream_protocol::acceptor acceptor_;
    asio::steady_timer retry_;
    acceptor_options options_;
    mailroom::accept_handler on_accept_;
    std::uint64_t accepted_ = 0; // strand only
    std::mutex mu_; // guards acceptor_, retry_ and closed_: close() runs on any thread
    bool closed_ = false;
    std::atomic<bool> bound_{false};
};

} // namespace

std::shared_ptr<mailroom::acceptor> make_acceptor(asio::any_io_executor ex, acceptor_options options)
{
    return std::make_shared<uds_acceptor>(std::move(ex), std::move(options));
}

mailroom::transport make_transport(link_options client, acceptor_options server)
{
    if (!server.protocol)
        server.protocol = mailroom::native_protocol();
    auto protocol = server.protocol;
    return {make_mailbox_factory(client),
            [server](asio::any_io_executor ex, const mailroom::server_info& self)
                -> std::shared_ptr<mailroom::acceptor> {
                auto o = server;
                o.path = socket_path(self);
                return make_acceptor(std::move(ex), std::move(o));
            },
            std::move(protocol)};
}

} // namespace uds
