#include "server_state.hpp"
#include "session.hpp"

#include <mailroom/server/server.hpp>

namespace mailroom {

server::server(executor_type ex, server_options options)
    : state_(std::make_shared<detail::server_state>(std::move(ex), std::move(options)))
{
    check_auth_options(state_->options.auth);
}

server::~server() { stop(); }

server::executor_type server::get_executor() const noexcept { return state_->executor; }

dispatcher& server::get_dispatcher() noexcept { return state_->disp; }

std::error_code server::listen(std::shared_ptr<acceptor> a,
                               std::shared_ptr<const wire_protocol> protocol)
{
    if (!protocol)
        protocol = native_protocol();
    {
        std::lock_guard lock(state_->mu);
        if (state_->stopped)
            return error::cancelled;
    }
    std::weak_ptr<detail::server_state> weak = state_;
    auto ec = a->start([weak, protocol](std::shared_ptr<connection> conn)
                           -> std::shared_ptr<connection_handler> {
        auto st = weak.lock();
        if (!st)
            return nullptr;
        auto s = std::make_shared<detail::session>(st, conn, protocol);
        std::lock_guard lock(st->mu);
        if (st->stopped)
            return nullptr; // the acceptor closes a connection nobody handles
        st->sessions.emplace(s.get(), s);
        return s;
    });
    if (ec)
        return ec;
    std::lock_guard lock(state_->mu);
    state_->acceptors.push_back(std::move(a));
    return {};
}

void server::drain()
{
    state_->draining = true;
    std::vector<std::shared_ptr<acceptor>> acceptors;
    {
        std::lock_guard lock(state_->mu);
        acceptors = state_->acceptors;
    }
    for (auto& a : acceptors)
        a->close();
}

std::size_t server::in_flight() const noexcept { return state_->in_flight.load(); }

void server::set_epoch(std::uint64_t epoch) noexcept { state_->epoch = epoch; }

server_filters& server::filters() noexcept { return state_->filters; }

server::stats server::counters() const
{
    const auto& c = state_->counters;
    return {c.busy.load(), c.deadline_exceeded.load(), c.shutting_down.load(),
            c.protocol_errors.load(), c.remote_errors.load(), c.write_overflows.load(),
            c.auth_refused.load()};
}

void server::stop()
{
    std::vector<std::shared_ptr<acceptor>> acceptors;
    std::vector<std::weak_ptr<detail::session>> sessions;
    {
        std::lock_guard lock(state_->mu);
        state_->stopped = true;
        acceptors.swap(state_->acceptors);
        for (auto& [p, w] : state_->sessions)
            sessions.push_back(w);
    }
    for (auto& a : acceptors)
        a->close();
    for (auto& w : sessions)
        if (auto s = w.lock())
            s->close();
    state_->filters.close();
}

std::size_t server::connections() const
{
    std::lock_guard lock(state_->mu);
    return state_->sessions.size();
}

} // namespace mailroom
