#include "server_slot.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <type_traits>

namespace mailroom {
namespace detail {

/// The mail box of one server of a snapshot: made once, under the station's lock.
struct slot_ref {
    std::atomic<server_slot*> raw{nullptr}; // published after `owner` is set
    std::shared_ptr<server_slot> owner;
};

/** One snapshot of the server table with a slot per server, parallel to `table.all()`. The
    table never changes; a slot is added once (under the station's lock, to the current
    snapshot only) and carried over to the next snapshot while its server stays the same.
*/
struct station_view {
    station_view(std::vector<server_info> servers, bool closed_)
        : table(std::move(servers)), slots(std::make_unique<slot_ref[]>(table.all().size())),
          closed(closed_)
    {
    }

    slot_ref* ref(std::string_view id) const noexcept
    {
        const server_info* s = table.find(id);
        return s ? &slots[static_cast<std::size_t>(s - table.all().data())] : nullptr;
    }

    server_table table;
    std::unique_ptr<slot_ref[]> slots;
    bool closed;
};

} // namespace detail

namespace {

void retire(const std::vector<std::shared_ptr<detail::server_slot>>& slots, std::error_code ec)
{
    for (const auto& s : slots)
        s->shutdown(ec);
}

} // namespace

mail_station::mail_station(executor_type ex, mail_station_options options)
    : shared_(std::make_shared<detail::station_shared>(std::move(ex), std::move(options))),
      view_(std::make_shared<detail::station_view>(std::vector<server_info>{}, false))
{
}

mail_station::~mail_station() { close(); }

mail_station::executor_type mail_station::get_executor() const noexcept { return shared_->executor; }

const mail_station::executor_type& mail_station::executor_ref() const noexcept
{
    return shared_->executor;
}

const mail_station_options& mail_station::options() const noexcept { return shared_->options; }

void mail_station::add_transport(std::string name, mailbox_factory factory)
{
    std::lock_guard lock(mu_);
    transports_[std::move(name)] = std::move(factory);
}

mail_station::view_ptr mail_station::view() const
{
    std::lock_guard lock(mu_);
    return view_;
}

const server_table& mail_station::table_of(const detail::station_view& view) noexcept
{
    return view.table;
}

std::shared_ptr<const server_table> mail_station::servers() const
{
    auto v = view();
    const server_table* table = &v->table;
    return {std::move(v), table};
}

void mail_station::add_server(server_info server)
{
    std::vector<server_info> next = servers()->all();
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const server_info& s) { return s.id == server.id; });
    if (it != next.end())
        *it = std::move(server);
    else
        next.push_back(std::move(server));
    replace_servers(std::move(next));
}

void mail_station::remove_server(std::string_view id)
{
    std::vector<server_info> next = servers()->all();
    std::erase_if(next, [&](const server_info& s) { return s.id == id; });
    replace_servers(std::move(next));
}

void mail_station::replace_servers(std::vector<server_info> servers)
{
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    {
        std::lock_guard lock(mu_);
        // throws on duplicates
        auto next = std::make_shared<detail::station_view>(std::move(servers), closed_);
        const auto& old = view_->table.all();
        for (std::size_t i = 0; i < old.size(); ++i) {
            auto& slot = view_->slots[i].owner;
            if (!slot)
                continue;
            const server_info* now = next->table.find(old[i].id);
            if (now && *now == old[i]) {
                auto& kept = next->slots[static_cast<std::size_t>(now - next->table.all().data())];
                kept.owner = slot;
                kept.raw.store(slot.get(), std::memory_order_relaxed); // published with view_
            } else {
                retired.push_back(slot);
            }
        }
        view_ = std::move(next);
    }
    retire(retired, error::disconnected);
}

std::shared_ptr<detail::server_slot> mail_station::make_slot(std::string_view server_id,
                                                            std::error_code& ec)
{
    std::lock_guard lock(mu_);
    if (closed_) {
        ec = error::cancelled;
        return nullptr;
    }
    // The current snapshot: a slot is only ever added there, so the next one carries it over.
    const server_info* info = view_->table.find(server_id);
    if (!info) {
        ec = error::unknown_server;
        return nullptr;
    }
    detail::slot_ref& ref = view_->slots[static_cast<std::size_t>(info - view_->table.all().data())];
    if (ref.owner)
        return ref.owner;
    auto t = transports_.find(info->transport);
    if (t == transports_.end()) {
        ec = error::unknown_transport;
        return nullptr;
    }
    ref.owner = std::make_shared<detail::server_slot>(shared_, *info, t->second);
    ref.raw.store(ref.owner.get(), std::memory_order_release);
    return ref.owner;
}

detail::server_slot* mail_station::slot_for(const detail::station_view& view,
                                            std::string_view server_id, const frame& f,
                                            std::shared_ptr<detail::server_slot>& made,
                                            std::error_code& ec)
{
    // Peers share the frame limit: a frame the server would refuse (closing the link and
    // every call on it) fails alone, here.
    if (f.body_size() > shared_->options.max_frame_size) {
        ec = error::frame_too_large;
        return nullptr;
    }
    if (view.closed) {
        ec = error::cancelled;
        return nullptr;
    }
    if (server_id.empty()) {
        ec = error::no_target_server;
        return nullptr;
    }
    if (const detail::slot_ref* ref = view.ref(server_id))
        if (auto* slot = ref->raw.load(std::memory_order_acquire))
            return slot; // the snapshot keeps it alive
    made = make_slot(server_id, ec);
    return made.get();
}

template <class Handler>
void mail_station::fail(Handler&& handler, std::error_code ec)
{
    // Never inside the call that started it; the handler may use the station's executor.
    asio::post(shared_->executor, [h = std::forward<Handler>(handler), ec, keep = shared_]() mutable {
        if constexpr (std::is_invocable_v<Handler&, std::error_code>)
            h(ec);
        else
            h(ec, nullptr);
    });
}

void mail_station::send_request(std::string_view server_id, std::uint64_t id, frame f,
                                const call_options& options, detail::call_handler handler)
{
    send_request(view(), server_id, id, std::move(f), options, std::move(handler));
}

void mail_station::send_request(const view_ptr& view, std::string_view server_id,
                                std::uint64_t id, frame&& f, const call_options& options,
                                detail::call_handler handler)
{
    const auto timeout =
        options.timeout.count() > 0 ? options.timeout : shared_->options.request_timeout;
    const auto deadline = detail::deadline_clock::now() + timeout;
    std::error_code ec;
    std::shared_ptr<detail::server_slot> made;
    auto* slot = slot_for(*view, server_id, f, made, ec);
    if (!slot)
        return fail(std::move(handler), ec);
    slot->call(id, std::move(f), deadline, timeout, std::move(handler), options.cancel.get());
}

void mail_station::send_notify(std::string_view server_id, frame f, detail::status_handler handler)
{
    send_notify(view(), server_id, std::move(f), std::move(handler));
}

void mail_station::send_notify(const view_ptr& view, std::string_view server_id, frame&& f,
                               detail::status_handler handler)
{
    std::error_code ec;
    std::shared_ptr<detail::server_slot> made;
    auto* slot = slot_for(*view, server_id, f, made, ec);
    if (!slot)
        return fail(std::move(handler), ec);
    slot->notify(std::move(f), std::move(handler));
}

void mail_station::close()
{
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    {
        std::lock_guard lock(mu_);
        if (closed_)
            return;
        closed_ = true;
        const std::size_t n = view_->table.all().size();
        for (std::size_t i = 0; i < n; ++i)
            if (view_->slots[i].owner)
                retired.push_back(view_->slots[i].owner);
        view_ = std::make_shared<detail::station_view>(view_->table.all(), true);
    }
    retire(retired, error::cancelled);
}

mail_station::stats mail_station::counters() const
{
    const auto& c = shared_->counters;
    return {c.queue_full.load(), c.timeouts.load(),      c.disconnected.load(),
            c.connect_failed.load(), c.cancelled.load(), c.late_replies.load()};
}

std::size_t mail_station::pending() const
{
    auto v = view();
    std::size_t n = 0;
    for (std::size_t i = 0; i < v->table.all().size(); ++i)
        if (auto* slot = v->slots[i].raw.load(std::memory_order_acquire))
            n += slot->pending();
    return n;
}

} // namespace mailroom
