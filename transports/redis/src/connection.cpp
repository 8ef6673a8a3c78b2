#include <mailroom/redis/connection.hpp>
#include <mailroom/redis/error.hpp>
#include <mailroom/redis/reply_reader.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <deque>
#include <string_view>
#include <typeinfo>

namespace mailroom::redis {

namespace {

/// "*N\r\n" or "$N\r\n".
void append_header(std::string& out, char kind, std::size_t n)
{
    char b[24];
    b[0] = kind;
    char* end = std::to_chars(b + 1, b + sizeof b - 2, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out.append(b, end);
}

/// One command in RESP: "*<argc>\r\n", then "$<len>\r\n<arg>\r\n" per argument. Written
/// here rather than by hiredis's redisFormatCommandArgv, whose sprintf per argument cost
/// more than the rest of a call's path (about 7,000 instructions per command).
template <class Args>
std::string format(const Args& args)
{
    std::size_t size = 16;
    for (const auto& a : args)
        size += std::string_view(a).size() + 24;
    std::string out;
    out.reserve(size);
    append_header(out, '*', args.size());
    for (const auto& a : args) {
        const std::string_view v(a);
        append_header(out, '$', v.size());
        out.append(v);
        out.append("\r\n", 2);
    }
    return out;
}

std::string format(std::initializer_list<std::string_view> args)
{
    return format<std::initializer_list<std::string_view>>(args);
}

/// The connection's strand: the owner's own when it passes one (the transport's endpoint
/// and acceptor do), rather than a strand inside it, which would lock and dispatch twice
/// for every handler and heap-allocate each copy of the socket's executor.
connection::strand_type strand_on(const asio::any_io_executor& ex)
{
    // Boost 1.74's target<T>() casts without checking the type: check it first.
    if (ex.target_type() == typeid(connection::strand_type))
        return *ex.target<connection::strand_type>();
    return asio::make_strand(ex);
}

} // namespace

struct connection::impl {
    enum class state { idle, connecting, open, closed };

    impl(asio::any_io_executor ex, url u, std::chrono::milliseconds t)
        : strand(strand_on(ex)), socket(strand), resolver(strand), timer(strand),
          where(std::move(u)), connect_timeout(t)
    {
    }

    strand_type strand;
    asio::ip::tcp::socket socket;
    asio::ip::tcp::resolver resolver;
    asio::steady_timer timer;
    url where;
    std::chrono::milliseconds connect_timeout;
    reply_reader reader;

    state st = state::idle;
    std::string out;      // encoded, not yet written
    std::string writing;  // being written
    bool write_busy = false;
    bool may_write = false; // the socket is connected and the greeting is queued first
    std::deque<reply_handler> waiting; // FIFO: one per command sent or queued
    connect_handler on_connect;
    std::function<void(std::error_code)> lost;
    std::error_code unreported; // the open connection went down before `lost` was given
    std::function<void(reply)> push; // replies nobody waits for (pub/sub messages)
    std::array<char, 64 * 1024> rbuf{};
};

connection::connection(asio::any_io_executor ex, url where, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(where), timeout))
{
}

connection::~connection() = default;

std::shared_ptr<connection> connection::create(asio::any_io_executor ex, url where,
                                               std::chrono::milliseconds connect_timeout)
{
    return std::shared_ptr<connection>(new connection(std::move(ex), std::move(where), connect_timeout));
}

connection::strand_type connection::get_executor() const noexcept { return impl_->strand; }

void connection::on_lost(std::function<void(std::error_code)> handler)
{
    asio::post(impl_->strand, [self = shared_from_this(), h = std::move(handler)]() mutable {
        auto& s = *self->impl_;
        if (s.st != impl::state::closed)
            s.lost = std::move(h);
        else if (auto ec = std::exchange(s.unreported, {})) // lost before anyone listened
            asio::post(s.strand, [h = std::move(h), ec] { h(ec); });
        // else closed by its owner: dropped (kept, it would never be released)
    });
}

void connection::on_push(std::function<void(reply)> handler)
{
    asio::post(impl_->strand, [self = shared_from_this(), h = std::move(handler)]() mutable {
        if (self->impl_->st != impl::state::closed)
            self->impl_->push = std::move(h);
    });
}

namespace {

// The strand-side operations, as free functions over the shared connection so that every
// completion keeps it alive.
struct driver {
    static void fail(const std::shared_ptr<connection>& c, connection::impl& s, std::error_code ec,
                     bool report)
    {
        if (s.st == connection::impl::state::closed)
            return;
        const bool was_open = s.st == connection::impl::state::open;
        s.st = connection::impl::state::closed;
        boost::system::error_code ignored;
        s.timer.cancel();
        s.resolver.cancel();
        s.socket.close(ignored);
        auto waiting = std::move(s.waiting);
        s.waiting.clear();
        if (s.on_connect) {
            auto h = std::move(s.on_connect);
            h(ec == make_error_code(error::auth_failed) ? ec : make_error_code(error::unreachable));
        }
        for (auto& h : waiting)
            h(make_error_code(error::connection_lost), {});
        // Dropping the handlers also breaks the owner -> connection -> handler -> owner cycle
        // (fail never runs inside `push`: every entry point posts).
        auto lost = std::move(s.lost);
        s.lost = nullptr;
        s.push = nullptr;
        if (was_open && report) {
            if (lost)
                lost(ec);
            else
                s.unreported = ec;
        }
        (void)c;
    }

    static void start_write(const std::shared_ptr<connection>& c, connection::impl& s)
    {
        if (s.write_busy || s.out.empty() || !s.may_write ||
            s.st == connection::impl::state::closed)
            return;
        s.write_busy = true;
        s.writing.swap(s.out);
        s.out.clear();
        asio::async_write(s.socket, asio::buffer(s.writing),
                          asio::bind_executor(s.strand, [c, &s](boost::system::error_code ec, std::size_t) {
                              s.write_busy = false;
                              s.writing.clear();
                              if (ec)
                                  return fail(c, s, make_error_code(error::connection_lost), true);
                              start_write(c, s);
                          }));
    }

    static void start_read(const std::shared_ptr<connection>& c, connection::impl& s)
    {
        s.socket.async_read_some(
            asio::buffer(s.rbuf),
            asio::bind_executor(s.strand, [c, &s](boost::system::error_code ec, std::size_t n) {
                if (ec)
                    return fail(c, s, make_error_code(error::connection_lost), true);
                if (s.reader.feed({s.rbuf.data(), n}))
                    return fail(c, s, make_error_code(error::protocol_error), true);
                for (;;) {
                    std::error_code bad;
                    auto next = s.reader.next(bad);
                    if (bad)
                        return fail(c, s, bad, true);
                    if (!next)
                        break;
                    auto rep = std::move(*next);
                    if (s.waiting.empty()) {
                        if (!s.push)
                            return fail(c, s, make_error_code(error::protocol_error), true);
                        s.push(std::move(rep));
                        if (s.st == connection::impl::state::closed)
                            return;
                        continue;
                    }
                    auto h = std::move(s.waiting.front());
                    s.waiting.pop_front();
                    if (rep.type == reply::kind::error)
                        h(make_error_code(error::command_failed), std::move(rep));
                    else
                        h({}, std::move(rep));
                    if (s.st == connection::impl::state::closed)
                        return;
                }
                start_read(c, s);
            }));
    }

    static void enqueue(const std::shared_ptr<connection>& c, connection::impl& s, std::string bytes,
                        connection::reply_handler h)
    {
        if (s.st == connection::impl::state::closed) {
            h(make_error_code(error::connection_lost), {});
            return;
        }
        s.out += bytes;
        s.waiting.push_back(std::move(h));
        start_write(c, s);
    }
};

} // namespace

void connection::async_connect(connect_handler handler)
{
    asio::post(impl_->strand, [self = shared_from_this(), h = std::move(handler)]() mutable {
        auto& s = *self->impl_;
        if (s.st != impl::state::idle) {
            h(make_error_code(error::unreachable));
            return;
        }
        s.st = impl::state::connecting;
        s.on_connect = std::move(h);
        s.timer.expires_after(s.connect_timeout);
        s.timer.async_wait([self, &s](boost::system::error_code ec) {
            if (!ec && s.st == impl::state::connecting)
                driver::fail(self, s, make_error_code(error::unreachable), false);
        });
        s.resolver.async_resolve(
            s.where.host, std::to_string(s.where.port),
            [self, &s](boost::system::error_code ec, asio::ip::tcp::resolver::results_type rs) {
                if (s.st != impl::state::connecting)
                    return;
                if (ec)
                    return driver::fail(self, s, make_error_code(error::unreachable), false);
                asio::async_connect(s.socket, rs, [self, &s](boost::system::error_code ec, const asio::ip::tcp::endpoint&) {
                    if (s.st != impl::state::connecting)
                        return;
                    if (ec)
                        return driver::fail(self, s, make_error_code(error::unreachable), false);
                    boost::system::error_code ignored;
                    s.socket.set_option(asio::ip::tcp::no_delay(true), ignored);
                    // The greeting goes ahead of anything queued meanwhile.
                    std::string queued = std::move(s.out);
                    std::deque<reply_handler> queued_handlers = std::move(s.waiting);
                    s.out.clear();
                    s.waiting.clear();
                    s.may_write = true;
                    auto check = [self, &s](std::error_code ec, reply) {
                        if (ec)
                            driver::fail(self, s, make_error_code(error::auth_failed), false);
                    };
                    if (!s.where.password.empty())
                        driver::enqueue(self, s, format({"AUTH", s.where.password}), check);
                    if (s.where.db != 0)
                        driver::enqueue(self, s, format({"SELECT", std::to_string(s.where.db)}), check);
                    driver::enqueue(self, s, format({"PING"}), [self, &s](std::error_code ec, reply) {
                        if (ec || s.st != impl::state::connecting)
                            return driver::fail(self, s, make_error_code(error::unreachable), false);
                        s.st = impl::state::open;
                        s.timer.cancel();
                        auto h = std::move(s.on_connect);
                        h({});
                    });
                    s.out += queued;
                    for (auto& h : queued_handlers)
                        s.waiting.push_back(std::move(h));
                    driver::start_write(self, s);
                    driver::start_read(self, s);
                });
            });
    });
}

void connection::exec(std::vector<std::string> args, reply_handler handler)
{
    asio::post(impl_->strand, [self = shared_from_this(), bytes = format(args),
                               h = std::move(handler)]() mutable {
        driver::enqueue(self, *self->impl_, std::move(bytes), std::move(h));
    });
}

void connection::exec(std::initializer_list<std::string_view> args, reply_handler handler)
{
    asio::post(impl_->strand, [self = shared_from_this(), bytes = format(args),
                               h = std::move(handler)]() mutable {
        driver::enqueue(self, *self->impl_, std::move(bytes), std::move(h));
    });
}

void connection::close()
{
    asio::post(impl_->strand, [self = shared_from_this()] {
        driver::fail(self, *self->impl_, make_error_code(error::connection_lost), false);
    });
}

void connect_both(const std::shared_ptr<connection>& a, const std::shared_ptr<connection>& b,
                  asio::any_io_executor ex,
                  mailroom::detail::unique_function<void(std::error_code)> done)
{
    struct state {
        int remaining = 2;
        std::error_code first;
        mailroom::detail::unique_function<void(std::error_code)> done;
    };
    auto st = std::make_shared<state>();
    st->done = std::move(done);
    auto one = [st, ex](std::error_code ec) {
        asio::post(ex, [st, ec] {
            if (ec && !st->first)
                st->first = ec;
            if (--st->remaining == 0)
                st->done(st->first);
        });
    };
    a->async_connect(one);
    b->async_connect(one);
}

} // namespace mailroom::redis
