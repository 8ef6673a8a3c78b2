#include "server_slot.hpp"

#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/detail/string_map.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <atomic>
#include <mutex>
#include <optional>
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
struct station_view final : load_source {
    station_view(std::vector<server_info> servers, bool closed_)
        : table(std::move(servers)), slots(std::make_unique<slot_ref[]>(table.all().size())),
          protocols(std::make_unique<std::shared_ptr<const wire_protocol>[]>(table.all().size())),
          closed(closed_)
    {
    }

    /// Sets the protocol of every server from the registered transports (before publishing).
    template <class Transports>
    void assign_protocols(const Transports& transports)
    {
        const auto& all = table.all();
        one_protocol = true;
        for (std::size_t i = 0; i < all.size(); ++i) {
            auto t = transports.find(all[i].transport);
            protocols[i] = t != transports.end() ? t->second.protocol : native_protocol();
            one_protocol = one_protocol && protocols[i] == protocols[0];
        }
    }

    const wire_protocol& protocol_of(std::string_view id) const noexcept
    {
        if (one_protocol && !table.all().empty()) // the usual cluster: no lookup per call
            return *protocols[0];
        const server_info* s = table.find(id);
        return s ? *protocols[static_cast<std::size_t>(s - table.all().data())]
                 : *native_protocol();
    }

    /// The load of a server of this table: its slot's counter, read without a lock (a
    /// server never called has no slot, and no load).
    std::size_t in_flight(const server_info& s) const noexcept override
    {
        const auto* slot = slot_of(s);
        return slot ? slot->in_flight() : 0;
    }

    bool down(const server_info& s) const noexcept override
    {
        const auto* slot = slot_of(s);
        return slot && slot->down();
    }

    /// The slot of an entry of this table, found by its address (no lookup by id per
    /// candidate); null for a server never called or not of this table.
    const detail::server_slot* slot_of(const server_info& s) const noexcept
    {
        const auto& all = table.all();
        if (all.empty() || std::less<>{}(&s, all.data()) || !std::less<>{}(&s, all.data() + all.size()))
            return nullptr;
        return slots[static_cast<std::size_t>(&s - all.data())].raw.load(std::memory_order_acquire);
    }

    slot_ref* ref(std::string_view id) const noexcept
    {
        const server_info* s = table.find(id);
        return s ? &slots[static_cast<std::size_t>(s - table.all().data())] : nullptr;
    }

    server_table table;
    std::unique_ptr<slot_ref[]> slots;
    /// The protocol of each server (by its transport), parallel to `table.all()`; owned, so
    /// a call encoding on this snapshot never outlives it (add_transport may replace one).
    std::unique_ptr<std::shared_ptr<const wire_protocol>[]> protocols;
    /// Every server speaks the same protocol: a call never needs encoding twice.
    bool one_protocol = true;
    bool closed;
};

/// A registered transport's client half.
struct station_transport {
    mailbox_factory factory;
    std::shared_ptr<const wire_protocol> protocol;
};

} // namespace detail

namespace {

/** Whether a server's link stays when its entry changes from `from` to `to`: what a mail box
    factory reads (address, transport and its options) is unchanged, and so is the
    incarnation its handshake checks (epoch), not the weight or type. An entry that named no
    incarnation (servers.json) and now names one (the registry found the server) keeps its
    link: one process serves an address at a time, and the next handshakes check the epoch.
    Failing its queued calls with `not_sent` for that would hurt every App that lists in
    servers.json the servers that also register.
*/
bool keeps_link(const server_info& from, const server_info& to) noexcept
{
    return from.id == to.id && from.host == to.host && from.port == to.port &&
           from.transport == to.transport && from.options == to.options &&
           (from.epoch == to.epoch || from.epoch == 0);
}

} // namespace

class mail_station::impl {
public:
    impl(executor_type ex, mail_station_options options)
        : shared(std::make_shared<detail::station_shared>(std::move(ex), std::move(options))),
          view(std::make_shared<detail::station_view>(std::vector<server_info>{}, false)),
          published(view)
    {
    }

    /// The current snapshot, without the station's lock (every call takes one).
    detail::station_view_ptr snapshot() const { return published.load(std::memory_order_acquire); }

    /// Makes `next` the current snapshot; under `mu`.
    void publish(std::shared_ptr<detail::station_view> next)
    {
        view = std::move(next);
        published.store(view, std::memory_order_release);
    }

    /// The slot to send `f` to (made if need be, then held by `made`), or null and why.
    detail::server_slot* slot_for(const detail::station_view& v, std::string_view server_id,
                                  const frame& f, std::shared_ptr<detail::server_slot>& made,
                                  std::error_code& ec);
    std::shared_ptr<detail::server_slot> make_slot(std::string_view server_id, std::error_code& ec);
    template <class Handler>
    void fail(Handler&& handler, std::error_code ec);
    /// Publishes a snapshot of `servers` (nullopt: the current ones), after running `under`
    /// under the same lock.
    template <class Under = void (*)()>
    void replace(std::optional<std::vector<server_info>> servers, Under&& under = [] {});
    void close();

    std::shared_ptr<detail::station_shared> shared;
    std::atomic<std::uint64_t> next_id{0};
    mutable std::mutex mu;
    bool closed = false;
    std::shared_ptr<detail::station_view> view; // replaced, never changed, but for its slots
    /// `view` as callers read it: the same pointer, stored after every change of `view`.
    std::atomic<detail::station_view_ptr> published;
    detail::string_map<detail::station_transport> transports;
    /// Slots of servers that left the table, while their calls drain (they keep themselves
    /// alive); close() ends them.
    std::vector<std::weak_ptr<detail::server_slot>> draining;
    /// Calls waiting out a retry delay (detail::cancel_on_close): told when close() runs.
    std::vector<std::pair<std::weak_ptr<detail::cancel_target>, std::uint64_t>> close_watchers;
};

mail_station::mail_station(executor_type ex, mail_station_options options)
    : impl_((check_auth_options(options.auth),
             std::make_shared<impl>(std::move(ex), std::move(options))))
{
}

mail_station::~mail_station() { close(); }

mail_station::executor_type mail_station::get_executor() const noexcept
{
    return impl_->shared->executor;
}

const mail_station_options& mail_station::options() const noexcept
{
    return impl_->shared->options;
}

void mail_station::add_transport(std::string name, mailbox_factory factory,
                                 std::shared_ptr<const wire_protocol> protocol)
{
    // A new snapshot of the same servers that knows the protocol, published under the same
    // lock (a concurrent replace_servers is not undone); a slot whose protocol changed is
    // retired rather than decoding with one protocol what another encoded.
    impl_->replace(std::nullopt, [&] {
        impl_->transports[std::move(name)] = {std::move(factory),
                                              protocol ? std::move(protocol) : native_protocol()};
    });
}

std::shared_ptr<const server_table> mail_station::servers() const
{
    auto v = impl_->snapshot();
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
    impl_->replace(std::move(servers));
}

template <class Under>
void mail_station::impl::replace(std::optional<std::vector<server_info>> servers, Under&& under)
{
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    {
        std::lock_guard lock(mu);
        under();
        // throws on duplicates
        auto next = std::make_shared<detail::station_view>(
            servers ? std::move(*servers) : view->table.all(), closed);
        next->assign_protocols(transports);
        const auto& old = view->table.all();
        for (std::size_t i = 0; i < old.size(); ++i) {
            auto& slot = view->slots[i].owner;
            if (!slot)
                continue;
            const server_info* now = next->table.find(old[i].id);
            const auto at = now ? static_cast<std::size_t>(now - next->table.all().data()) : 0;
            if (now && keeps_link(old[i], *now) && next->protocols[at] == slot->protocol()) {
                if (now->epoch != old[i].epoch)
                    slot->expect_epoch(now->epoch);
                auto& kept = next->slots[at];
                kept.owner = slot;
                kept.raw.store(slot.get(), std::memory_order_relaxed); // published with view
            } else {
                retired.push_back(slot);
            }
        }
        publish(std::move(next));
        std::erase_if(draining, [](const auto& w) { return w.expired(); });
        for (const auto& s : retired)
            draining.push_back(s);
    }
    for (const auto& s : retired)
        s->remove(shared->options.drain_timeout);
}

std::shared_ptr<detail::server_slot> mail_station::impl::make_slot(std::string_view server_id,
                                                                  std::error_code& ec)
{
    std::lock_guard lock(mu);
    if (closed) {
        ec = error::cancelled;
        return nullptr;
    }
    // The current snapshot: a slot is only ever added there, so the next one carries it over.
    const server_info* info = view->table.find(server_id);
    if (!info) {
        ec = error::unknown_server;
        return nullptr;
    }
    detail::slot_ref& ref = view->slots[static_cast<std::size_t>(info - view->table.all().data())];
    if (ref.owner)
        return ref.owner;
    auto t = transports.find(info->transport);
    if (t == transports.end()) {
        ec = error::unknown_transport;
        return nullptr;
    }
    ref.owner = std::make_shared<detail::server_slot>(shared, *info, t->second.factory,
                                                      t->second.protocol);
    ref.raw.store(ref.owner.get(), std::memory_order_release);
    return ref.owner;
}

detail::server_slot* mail_station::impl::slot_for(const detail::station_view& v,
                                                  std::string_view server_id, const frame& f,
                                                  std::shared_ptr<detail::server_slot>& made,
                                                  std::error_code& ec)
{
    // Peers share the frame limit: a frame the server would refuse (closing the link and
    // every call on it) fails alone, here.
    if (f.body_size() > shared->options.max_frame_size) {
        ec = error::frame_too_large;
        return nullptr;
    }
    if (v.closed) {
        ec = error::cancelled;
        return nullptr;
    }
    if (server_id.empty()) {
        ec = error::no_target_server;
        return nullptr;
    }
    if (const detail::slot_ref* ref = v.ref(server_id))
        if (auto* slot = ref->raw.load(std::memory_order_acquire))
            return slot; // the snapshot keeps it alive
    made = make_slot(server_id, ec);
    return made.get();
}

template <class Handler>
void mail_station::impl::fail(Handler&& handler, std::error_code ec)
{
    shared->counters.count(ec);
    // Never inside the call that started it; the handler may use the station's executor.
    asio::post(shared->executor, [h = std::forward<Handler>(handler), ec, keep = shared]() mutable {
        if constexpr (std::is_invocable_v<Handler&, std::error_code>)
            h(ec);
        else
            h(ec, nullptr);
    });
}

void mail_station::close() { impl_->close(); }

void mail_station::impl::close()
{
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    std::vector<std::pair<std::weak_ptr<detail::cancel_target>, std::uint64_t>> watchers;
    {
        std::lock_guard lock(mu);
        if (closed)
            return;
        closed = true;
        watchers.swap(close_watchers);
        const std::size_t n = view->table.all().size();
        for (std::size_t i = 0; i < n; ++i)
            if (view->slots[i].owner)
                retired.push_back(view->slots[i].owner);
        for (const auto& w : draining)
            if (auto s = w.lock())
                retired.push_back(std::move(s));
        draining.clear();
        auto next = std::make_shared<detail::station_view>(view->table.all(), true);
        next->assign_protocols(transports);
        publish(std::move(next));
    }
    for (const auto& s : retired)
        s->shutdown(error::cancelled);
    for (auto& [weak, id] : watchers)
        if (auto t = weak.lock())
            t->cancel_call(id);
}

mail_station::stats mail_station::counters() const
{
    const auto& c = impl_->shared->counters;
    return {c.queue_full.load(),   c.timeouts.load(),     c.disconnected.load(),
            c.connect_failed.load(), c.cancelled.load(), c.late_replies.load(),
            c.not_sent.load()};
}

std::vector<mail_station::mailbox_status> mail_station::mailboxes() const
{
    detail::station_view_ptr v;
    {
        std::lock_guard lock(impl_->mu);
        v = impl_->view;
    }
    std::vector<mailbox_status> out;
    const auto& all = v->table.all();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (auto* slot = v->slots[i].raw.load(std::memory_order_acquire)) {
            out.push_back(slot->status());
        } else {
            out.push_back({all[i].id, all[i].server_type, "none", 0, 0, 0});
        }
    }
    return out;
}

std::size_t mail_station::pending() const
{
    detail::station_view_ptr v;
    std::vector<std::shared_ptr<detail::server_slot>> draining;
    {
        std::lock_guard lock(impl_->mu);
        v = impl_->view;
        for (const auto& w : impl_->draining)
            if (auto s = w.lock())
                draining.push_back(std::move(s));
    }
    std::size_t n = 0;
    for (std::size_t i = 0; i < v->table.all().size(); ++i)
        if (auto* slot = v->slots[i].raw.load(std::memory_order_acquire))
            n += slot->pending();
    for (const auto& s : draining)
        n += s->pending(); // servers that left the table, still answering calls sent to them
    return n;
}

namespace detail {

/// The station's internals, for the functions of station_access.hpp.
struct station_access {
    static mail_station::impl& of(const mail_station& s) noexcept { return *s.impl_; }
    static const std::shared_ptr<mail_station::impl>& ptr(const mail_station& s) noexcept
    {
        return s.impl_;
    }
    /// The station of `r`, or null once it is gone.
    static std::shared_ptr<mail_station::impl> lock(const station_ref& r) noexcept
    {
        return std::static_pointer_cast<mail_station::impl>(r.state_.lock());
    }

    // The handler by reference: the fast path moves it once, into the slot.
    static void send_request_on(mail_station::impl& st, const station_view_ptr& v,
                                std::string_view server_id, std::uint64_t id, frame&& f,
                                const call_options& o, call_handler&& h,
                                deadline_clock::time_point made_at = {})
    {
        const auto timeout =
            o.timeout.count() > 0 ? o.timeout : st.shared->options.request_timeout;
        const auto now =
            made_at != deadline_clock::time_point{} ? made_at : deadline_clock::now();
        std::error_code ec;
        std::shared_ptr<server_slot> made;
        auto* slot = st.slot_for(*v, server_id, f, made, ec);
        if (!slot)
            return st.fail(std::move(h), ec);
        slot->call(id, std::move(f), now, now + timeout, std::move(h), o.cancel.get());
    }

    static void send_notify_on(mail_station::impl& st, const station_view_ptr& v,
                               std::string_view server_id, frame&& f, status_handler&& h)
    {
        std::error_code ec;
        std::shared_ptr<server_slot> made;
        auto* slot = st.slot_for(*v, server_id, f, made, ec);
        if (!slot)
            return st.fail(std::move(h), ec);
        slot->notify(std::move(f), std::move(h));
    }
};

station_ref::station_ref(const mail_station& s)
    : state_(station_access::ptr(s)), executor_(station_access::of(s).shared->executor)
{
}

station_view_ptr view_of(const mail_station& s) { return station_access::of(s).snapshot(); }

const server_table& table_of(const station_view& v) noexcept { return v.table; }

route_context context_of(const station_view& v) noexcept { return {v.table, v}; }

const wire_protocol& protocol_of(const station_view& v, std::string_view server_id) noexcept
{
    return v.protocol_of(server_id);
}

bool one_protocol(const station_view& v) noexcept { return v.one_protocol; }

void fail_request(mail_station& s, call_handler h, std::error_code ec)
{
    station_access::of(s).fail(std::move(h), ec);
}

void fail_notify(mail_station& s, status_handler h, std::error_code ec)
{
    station_access::of(s).fail(std::move(h), ec);
}

std::uint64_t next_request_id(mail_station& s) noexcept
{
    return station_access::of(s).next_id.fetch_add(1, std::memory_order_relaxed) + 1;
}

const asio::any_io_executor& executor_ref(const mail_station& s) noexcept
{
    return station_access::of(s).shared->executor;
}

void send_request(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                  std::uint64_t id, frame&& f, const call_options& o, call_handler h,
                  deadline_clock::time_point made_at)
{
    station_access::send_request_on(station_access::of(s), v, server_id, id, std::move(f), o,
                                    std::move(h), made_at);
}

void send_notify(mail_station& s, const station_view_ptr& v, std::string_view server_id,
                 frame&& f, status_handler h)
{
    station_access::send_notify_on(station_access::of(s), v, server_id, std::move(f), std::move(h));
}

void send_request(const station_ref& s, const station_view_ptr& v, std::string_view server_id,
                  std::uint64_t id, frame&& f, const call_options& o, call_handler h)
{
    // Held for the send only: the station may be destroyed on another thread meanwhile, and
    // then finishes here (its close() already failed everything it held).
    if (auto st = station_access::lock(s))
        return station_access::send_request_on(*st, v, server_id, id, std::move(f), o, std::move(h));
    asio::post(s.executor(), [h = std::move(h)]() mutable { h(error::cancelled, nullptr); });
}

void send_notify(const station_ref& s, const station_view_ptr& v, std::string_view server_id,
                 frame&& f, status_handler h)
{
    if (auto st = station_access::lock(s))
        return station_access::send_notify_on(*st, v, server_id, std::move(f), std::move(h));
    asio::post(s.executor(), [h = std::move(h)]() mutable { h(error::cancelled); });
}

bool cancel_on_close(const station_ref& s, std::weak_ptr<cancel_target> t, std::uint64_t id)
{
    auto st = station_access::lock(s);
    if (!st)
        return false;
    std::lock_guard lock(st->mu);
    if (st->closed)
        return false;
    // Forget calls that are gone, so the list stays as small as the calls waiting now.
    std::erase_if(st->close_watchers, [](const auto& w) { return w.first.expired(); });
    st->close_watchers.emplace_back(std::move(t), id);
    return true;
}

} // namespace detail
} // namespace mailroom
