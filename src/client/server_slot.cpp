#include "server_slot.hpp"

#include "../protocol/scratch_zone.hpp"
#include "cancellation_access.hpp"

#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

#include <exception>
#include <type_traits>
#include <utility>
#include <string>

namespace mailroom::detail {
namespace {

/// Forwards one mail box's events to its slot, tagged with the mail box's generation.
/// Holds the slot weakly: a mail box never keeps a removed server's slot alive.
class slot_sink final : public mailbox_handler {
public:
    slot_sink(std::weak_ptr<server_slot> slot, std::uint64_t gen)
        : slot_(std::move(slot)), gen_(gen)
    {
    }

    void on_message(std::span<const char> body) override
    {
        if (auto s = slot_.lock())
            s->on_message(gen_, body);
    }

    void on_close(std::error_code ec) override
    {
        if (auto s = slot_.lock())
            s->on_close(gen_, ec);
    }

    void on_stall(bool stalled) override
    {
        if (auto s = slot_.lock())
            s->on_stall(gen_, stalled);
    }

private:
    std::weak_ptr<server_slot> slot_;
    std::uint64_t gen_;
};

mailbox_fsm_config fsm_config(const mail_station_options& o, const server_info& info,
                              const wire_protocol& protocol)
{
    mailbox_fsm_config c;
    c.protocol = &protocol;
    c.server_id = info.id;
    c.client_id = o.client_id;
    c.address = info.host + ":" + std::to_string(info.port) + " (" + info.transport + ")";
    c.connect_timeout = o.connect_timeout;
    c.reconnect_delay = o.reconnect_delay;
    c.max_reconnect_delay = o.max_reconnect_delay;
    c.probe_delay = o.probe_delay;
    c.max_probe_delay = o.max_probe_delay;
    c.jitter_seed = std::hash<std::string>{}(info.id) ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    c.max_pending = o.max_pending_per_server;
    c.max_in_flight = o.max_in_flight_per_server;
    c.max_queued_bytes = o.max_queued_bytes_per_server;
    c.min_log_level = o.log.min_level;
    c.auth_secret = o.auth.secret;
    c.epoch = info.epoch;
    return c;
}

} // namespace

void station_counters::count(std::error_code ec) noexcept
{
    if (!ec)
        return;
    if (ec == error::queue_full)
        ++queue_full;
    else if (ec == error::timeout)
        ++timeouts;
    else if (ec == error::disconnected)
        ++disconnected;
    else if (ec == error::not_sent)
        ++not_sent;
    else if (ec == error::connect_failed || ec == error::version_mismatch ||
             ec == error::wrong_server || ec == error::auth_failed ||
             ec == error::auth_required || ec == error::auth_unavailable)
        ++connect_failed;
    else if (ec == std::errc::operation_canceled) // error::cancelled compares equal
        ++cancelled;
}

server_slot::server_slot(std::shared_ptr<station_shared> shared, server_info info,
                         mailbox_factory factory, std::shared_ptr<const wire_protocol> protocol)
    : shared_(std::move(shared)), info_(std::move(info)), factory_(std::move(factory)),
      protocol_(std::move(protocol)), fsm_(fsm_config(shared_->options, info_, *protocol_)),
      call_timer_(shared_->executor),
      connect_timer_(shared_->executor)
{
}

template <class Handler>
void server_slot::post_error(Handler&& h, std::error_code ec)
{
    shared_->counters.count(ec);
    // Errors found while initiating are posted: a handler never runs inside the call that
    // started the operation. The handler may refer to the station's executor: keep it alive.
    asio::post(shared_->executor, [h = std::forward<Handler>(h), ec, keep = shared_]() mutable {
        if constexpr (std::is_invocable_v<Handler&, std::error_code>)
            h(ec);
        else
            h(ec, nullptr);
    });
}

void server_slot::call(std::uint64_t id, frame&& f, clock::time_point now,
                       clock::time_point deadline, call_handler&& handler, cancellation* cancel)
{
    std::unique_lock lock(mu_);
    if (cancel && !fsm_.closed() && !cancellation_access::attach(*cancel, weak_from_this(), id)) {
        lock.unlock();
        return post_error(std::move(handler), error::cancelled);
    }
    const auto r = fsm_.call(scratch_, now, id, f, deadline, handler, link_bytes());
    if (r.what == mailbox_fsm::admit::failed) {
        lock.unlock();
        return post_error(std::move(handler), r.ec);
    }
    send_admitted(r, f, lock);
}

bool server_slot::send_admitted(const mailbox_fsm::admission& r, frame& f,
                                std::unique_lock<std::mutex>& lock)
{
    mailbox* box = nullptr;
    if (r.what == mailbox_fsm::admit::send) {
        box = box_.get();
        senders_.fetch_add(1, std::memory_order_relaxed); // under the lock
    }
    run(lock);
    if (!box)
        return false;
    if (r.timeout_ms) // a request: the callee learns the time that remains
        protocol_->patch_request_timeout(f, r.timeout_ms);
    box->send(std::move(f));
    senders_.fetch_sub(1, std::memory_order_release);
    return true;
}

void server_slot::notify(frame&& f, status_handler handler)
{
    std::unique_lock lock(mu_);
    const auto r = fsm_.notify(scratch_, deadline_clock::now(), f, handler, link_bytes());
    if (r.what == mailbox_fsm::admit::failed) {
        lock.unlock();
        return post_error(std::move(handler), r.ec);
    }
    if (send_admitted(r, f, lock))
        asio::post(shared_->executor,
                   [h = std::move(handler), keep = shared_]() mutable { h({}); });
}

void server_slot::cancel_call(std::uint64_t id)
{
    std::unique_lock lock(mu_);
    fsm_.cancel(scratch_, id);
    run(lock);
}

void server_slot::remove(std::chrono::milliseconds drain)
{
    std::unique_lock lock(mu_);
    fsm_.remove(scratch_, clock::now(), drain);
    if (!fsm_.closed())
        keep_alive_ = shared_from_this(); // released by apply() once it closes
    run(lock);
}

void server_slot::shutdown(std::error_code reason)
{
    std::unique_lock lock(mu_);
    fsm_.shutdown(scratch_, reason);
    run(lock);
}

std::size_t server_slot::pending() const
{
    std::lock_guard lock(mu_);
    return fsm_.pending();
}

mail_station::mailbox_status server_slot::status() const
{
    std::lock_guard lock(mu_);
    mail_station::mailbox_status s;
    s.server_id = info_.id;
    s.server_type = info_.server_type;
    s.state = fsm_.down() ? "down" : fsm_.state_name();
    s.queue_depth = fsm_.pending();
    s.queued_bytes = fsm_.queued_bytes() + link_bytes();
    const auto opened = fsm_.links_opened();
    s.reconnects = opened > 0 ? opened - 1 : 0;
    return s;
}

void server_slot::run(std::unique_lock<std::mutex>& lock)
{
    // Every event that admits or completes a call ends here, the lock held: the count routers
    // read stays exact without them ever taking the lock.
    in_flight_.store(fsm_.calls_in_flight(), std::memory_order_relaxed);
    // Only a failed cycle, an opened link or a stall change it: not on the usual call's path.
    // Routers skip a stalled server as they skip a down one.
    if (scratch_.more)
        down_.store(fsm_.down() || fsm_.stalled(), std::memory_order_relaxed);
    // The usual call or response asks for nothing more (a response's handler was taken out
    // already): the buffer stays as it is, fresh for the next event.
    if (!scratch_.more)
        return lock.unlock();
    fsm_actions a = std::exchange(scratch_, fsm_actions{});
    apply(a, lock);
}

void server_slot::apply(fsm_actions& a, std::unique_lock<std::mutex>& lock)
{
    // Destroyed last. Whoever reports an event holds the slot too (a locked weak pointer),
    // so this never destroys the slot inside its own member function.
    std::shared_ptr<server_slot> released;
    // Under the lock: the timers (not thread-safe; arming one runs nothing).
    if (a.call_timer) {
        const auto seq = ++call_timer_seq_;
        call_timer_.expires_at(*a.call_timer);
        call_timer_.async_wait([weak = weak_from_this(), seq](const boost::system::error_code&) {
            if (auto s = weak.lock())
                s->on_call_timer(seq);
        });
    }
    if (a.connect_timer) {
        const auto seq = ++connect_timer_seq_;
        connect_timer_.expires_at(*a.connect_timer);
        connect_timer_.async_wait([weak = weak_from_this(), seq](const boost::system::error_code&) {
            if (auto s = weak.lock())
                s->on_connect_timer(seq);
        });
    } else if (a.cancel_connect_timer) {
        ++connect_timer_seq_;
        connect_timer_.cancel();
    }
    if (fsm_.closed()) {
        ++call_timer_seq_;
        call_timer_.cancel();
        released = std::move(keep_alive_);
    }
    std::shared_ptr<mailbox> closing, target;
    std::vector<std::shared_ptr<mailbox>> unused;
    if (a.close_box && box_) {
        closing = box_;
        retired_.push_back(std::move(box_)); // a sender may still hold it by pointer
    }
    if (!retired_.empty() && senders_.load(std::memory_order_acquire) == 0)
        unused.swap(retired_); // no sender can reach them any more: destroyed after unlocking
    if (!a.sends.empty())
        target = box_;
    lock.unlock();

    // After it: the mail box, logs, completions.
    if (closing)
        closing->close();
    if (target)
        for (auto& f : a.sends)
            target->send(std::move(f));
    if (a.connect_gen)
        make_mailbox(a.connect_gen);
    if (a.late_replies)
        shared_->counters.late_replies += a.late_replies;
    if (a.link_queue_full)
        ++shared_->counters.queue_full;
    // Logged before the calls complete: a caller that learns of a failure finds its reason
    // already in the log.
    for (const auto& [level, line] : a.logs)
        shared_->options.log.log(level, "{}", line);
    complete(a);
    if (a.flushed) {
        lock.lock();
        fsm_.on_flushed(scratch_, deadline_clock::now());
        run(lock);
    }
}

void server_slot::complete(fsm_actions& a)
{
    for (auto& [h, ec] : a.calls)
        shared_->counters.count(ec);
    for (auto& [h, ec] : a.calls)
        h(ec, nullptr);
    for (auto& [h, ec] : a.statuses)
        h(ec);
}

void server_slot::make_mailbox(std::uint64_t gen)
{
    mailbox_context ctx{shared_->executor, info_,
                        std::make_shared<slot_sink>(weak_from_this(), gen),
                        shared_->options.max_frame_size, protocol_};
    std::shared_ptr<mailbox> box;
    std::string what = "the factory made no mail box";
    try {
        box = factory_(ctx);
    } catch (const std::exception& e) {
        what = e.what();
    }
    std::unique_lock lock(mu_);
    if (!box) {
        fsm_.on_factory_failed(scratch_, mailbox_fsm::clock::now(), gen, std::move(what));
        return run(lock);
    }
    if (fsm_.generation() != gen) { // closed or given up on while it was made
        lock.unlock();
        box->close();
        return;
    }
    box_ = box;
    lock.unlock();
    box->async_connect([weak = weak_from_this(), gen](std::error_code ec) {
        if (auto s = weak.lock())
            s->on_connected(gen, ec);
    });
}

void server_slot::on_connected(std::uint64_t gen, std::error_code ec)
{
    std::unique_lock lock(mu_);
    fsm_.on_connected(scratch_, clock::now(), gen, ec);
    run(lock);
}

void server_slot::on_message(std::uint64_t gen, std::span<const char> body)
{
    protocol::detail::scratch_zone zone;
    protocol::message msg;
    const auto dec = protocol_->decode(body, zone.get(), msg);
    // The time matters only during the handshake (queued calls learn the time they have
    // left; a refused one is held for a while): the clock is not read per response.
    const auto now = !dec && msg.kind != protocol::message_kind::response
                         ? deadline_clock::now()
                         : deadline_clock::time_point{};
    std::unique_lock lock(mu_);
    fsm_.on_message(scratch_, now, gen, dec, msg);
    call_handler responded = std::move(scratch_.responded);
    run(lock);
    if (responded)
        responded({}, &msg.response);
}

void server_slot::on_close(std::uint64_t gen, std::error_code ec)
{
    std::unique_lock lock(mu_);
    fsm_.on_close(scratch_, clock::now(), gen, ec);
    run(lock);
}

void server_slot::expect_epoch(std::uint64_t epoch)
{
    std::lock_guard lock(mu_);
    fsm_.expect_epoch(epoch);
}

void server_slot::on_stall(std::uint64_t gen, bool stalled)
{
    std::unique_lock lock(mu_);
    fsm_.on_stall(scratch_, gen, stalled);
    run(lock);
}

void server_slot::on_call_timer(std::uint64_t seq)
{
    std::unique_lock lock(mu_);
    if (seq != call_timer_seq_)
        return; // re-armed or cancelled since
    fsm_.on_call_timer(scratch_, clock::now());
    run(lock);
}

void server_slot::on_connect_timer(std::uint64_t seq)
{
    std::unique_lock lock(mu_);
    if (seq != connect_timer_seq_)
        return;
    fsm_.on_connect_timer(scratch_, clock::now());
    run(lock);
}

} // namespace mailroom::detail
