#include <mailroom/app/admin_endpoint.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace mailroom {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct admin_endpoint::state : std::enable_shared_from_this<admin_endpoint::state> {
    state(asio::any_io_executor ex, admin_options o, route_function r)
        : executor(std::move(ex)), options(std::move(o)), route(std::move(r)),
          strand(asio::make_strand(executor)), acceptor(strand)
    {
    }

    class connection;

    void accept();

    asio::any_io_executor executor;
    admin_options options;
    route_function route;
    // The acceptor's handlers and its close run here: never two at once.
    asio::strand<asio::any_io_executor> strand;
    tcp::acceptor acceptor;
    std::atomic<std::uint16_t> port{0};
    std::atomic<std::size_t> open{0};
    std::mutex mu;
    bool stopped = false;
    std::unordered_map<connection*, std::weak_ptr<connection>> connections;
};

/// One HTTP connection: read a request (bounded in size and time), answer it, again while
/// the client keeps the connection alive.
class admin_endpoint::state::connection
    : public std::enable_shared_from_this<admin_endpoint::state::connection> {
public:
    connection(std::shared_ptr<state> owner, tcp::socket socket)
        : owner_(std::move(owner)), stream_(std::move(socket))
    {
    }

    ~connection()
    {
        owner_->open.fetch_sub(1, std::memory_order_relaxed);
        std::lock_guard lock(owner_->mu);
        owner_->connections.erase(this);
    }

    void start()
    {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
    }

    void close()
    {
        asio::post(stream_.get_executor(), [self = shared_from_this()] {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->stream_.close();
        });
    }

private:
    void read()
    {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(owner_->options.max_header_bytes));
        parser_->body_limit(owner_->options.max_body_bytes);
        // One deadline for the whole request: a client dribbling a byte at a time (slowloris)
        // is cut off when it runs out, however steadily it sends.
        stream_.expires_after(owner_->options.timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(beast::error_code ec)
    {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::error::eof)
            return stream_.close();
        if (ec) // malformed, or beyond a limit: one answer, then the connection goes
            return answer(400, "text/plain; charset=utf-8", "bad request\n", false, false);
        const auto& req = parser_->get();
        const bool head = req.method() == http::verb::head;
        if (req.method() != http::verb::get && !head)
            return answer(405, "text/plain; charset=utf-8", "only GET and HEAD\n", false, head);
        std::string_view path(req.target().data(), req.target().size());
        if (auto q = path.find('?'); q != path.npos)
            path = path.substr(0, q);
        std::optional<page> p;
        try {
            p = owner_->route(path);
        } catch (const std::exception& e) {
            return answer(500, "text/plain; charset=utf-8", std::string(e.what()) + "\n",
                          false, head);
        }
        if (!p)
            return answer(404, "text/plain; charset=utf-8", "not found\n", req.keep_alive(),
                          head);
        answer(p->status, p->content_type, std::move(p->body), req.keep_alive(), head);
    }

    void answer(unsigned status, std::string_view type, std::string body, bool keep_alive,
                bool head)
    {
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(status), 11);
        res->set(http::field::server, "mailroom");
        res->set(http::field::content_type, beast::string_view(type.data(), type.size()));
        res->set(http::field::cache_control, "no-store");
        if (status == 405)
            res->set(http::field::allow, "GET, HEAD");
        res->keep_alive(keep_alive);
        const auto size = body.size();
        if (!head)
            res->body() = std::move(body);
        res->content_length(size);
        stream_.expires_after(owner_->options.timeout);
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res, keep_alive](beast::error_code ec,
                                                                       std::size_t) {
                              if (ec)
                                  return self->stream_.close();
                              if (!keep_alive)
                                  return self->linger();
                              self->read();
                          });
    }

    /** Ends the connection after an answer: our side is shut down, then what the client
        still sends is read and dropped until it closes too (or the timeout, or 1 MiB).
        Closing with unread bytes would reset the connection, and the client could lose the
        answer (a 400 for a request it is still writing) before reading it.
    */
    void linger()
    {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(owner_->options.timeout);
        drain(0);
    }

    void drain(std::size_t dropped)
    {
        if (dropped > (1u << 20))
            return stream_.close();
        stream_.async_read_some(asio::buffer(scratch_),
                                [self = shared_from_this(), dropped](beast::error_code ec,
                                                                     std::size_t n) {
                                    if (ec)
                                        return self->stream_.close();
                                    self->drain(dropped + n);
                                });
    }

    std::shared_ptr<state> owner_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::array<char, 4096> scratch_;
};

void admin_endpoint::state::accept()
{
    acceptor.async_accept(asio::make_strand(executor), [self = shared_from_this()](
                                                           beast::error_code ec,
                                                           tcp::socket socket) {
        if (ec == asio::error::operation_aborted)
            return;
        {
            std::lock_guard lock(self->mu);
            if (self->stopped)
                return;
        }
        if (!ec) {
            if (self->open.load(std::memory_order_relaxed) >= self->options.max_connections) {
                beast::error_code ignored;
                socket.close(ignored); // over the cap: refused at once, nothing read
            } else {
                self->open.fetch_add(1, std::memory_order_relaxed);
                auto c = std::make_shared<connection>(self, std::move(socket));
                {
                    std::lock_guard lock(self->mu);
                    self->connections.emplace(c.get(), c);
                }
                c->start();
            }
        }
        // An error on accept (out of descriptors) must not end the endpoint.
        self->accept();
    });
}

admin_endpoint::admin_endpoint(asio::any_io_executor ex, admin_options options,
                               route_function route)
    : state_(std::make_shared<state>(std::move(ex), std::move(options), std::move(route)))
{
}

admin_endpoint::~admin_endpoint() { stop(); }

std::error_code admin_endpoint::listen()
{
    beast::error_code ec;
    const auto address = asio::ip::make_address(state_->options.address, ec);
    if (ec)
        return ec;
    const tcp::endpoint ep(address, state_->options.port.value_or(0));
    auto& a = state_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec)
        a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        a.bind(ep, ec);
    if (!ec)
        a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        beast::error_code ignored;
        a.close(ignored);
        return ec;
    }
    state_->port = a.local_endpoint().port();
    state_->accept();
    return {};
}

std::uint16_t admin_endpoint::port() const noexcept { return state_->port.load(); }

std::size_t admin_endpoint::connections() const noexcept
{
    return state_->open.load(std::memory_order_relaxed);
}

void admin_endpoint::stop()
{
    std::vector<std::shared_ptr<state::connection>> open;
    {
        std::lock_guard lock(state_->mu);
        if (state_->stopped)
            return;
        state_->stopped = true;
        for (auto& [p, w] : state_->connections)
            if (auto c = w.lock())
                open.push_back(std::move(c));
    }
    asio::post(state_->strand, [s = state_] {
        beast::error_code ignored;
        s->acceptor.close(ignored);
    });
    for (auto& c : open)
        c->close();
}

} // namespace mailroom
