#include "server_slot.hpp"

#include "../protocol/scratch_zone.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace mailroom::detail {
namespace {

/// Forwards one mail box's events to its slot, tagged with the mail box's generation.
/// Holds the slot weakly: a mail box never keeps a removed server's slot alive.
class slot_sink final : public mailbox_handler {
public:
    slot_sink(std::weak_ptr<server_slot> slot, std::uint64_t gen) : slot_(std::move(slot)), gen_(gen) {}

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

private:
    std::weak_ptr<server_slot> slot_;
    std::uint64_t gen_;
};

} // namespace

void station_counters::count(std::error_code ec) noexcept
{
    if (ec == error::queue_full)
        ++queue_full;
    else if (ec == error::timeout)
        ++timeouts;
    else if (ec == error::disconnected)
        ++disconnected;
    else if (ec == error::connect_failed || ec == error::version_mismatch)
        ++connect_failed;
    else if (ec == error::cancelled || ec == std::errc::operation_canceled)
        ++cancelled;
}

void server_slot::completions::run()
{
    for (auto& [h, ec] : calls)
        counters->count(ec);
    for (auto& [h, ec] : calls)
        h(ec, nullptr);
    for (auto& [h, ec] : statuses)
        h(ec);
}

server_slot::server_slot(std::shared_ptr<station_shared> shared, server_info info,
                         mailbox_factory factory)
    : shared_(std::move(shared)), info_(std::move(info)), factory_(std::move(factory)),
      call_timer_(shared_->executor), connect_timer_(shared_->executor)
{
}

void server_slot::post_error(call_handler h, std::error_code ec)
{
    shared_->counters.count(ec);
    // Errors found while initiating are posted: a handler never runs inside the call that
    // started the operation.
    // The handler may refer to the station's executor: keep it alive until then.
    asio::post(shared_->executor, [h = std::move(h), ec, keep = shared_]() mutable { h(ec, nullptr); });
}

void server_slot::send_request_locked(frame&& f, std::chrono::milliseconds timeout)
{
    protocol::patch_request_timeout(f, static_cast<std::uint32_t>(std::clamp<long long>(
                                           timeout.count(), 1, UINT32_MAX)));
    mailbox_->send(std::move(f));
}

void server_slot::call(std::uint64_t id, frame&& f, clock::time_point deadline,
                       std::chrono::milliseconds timeout, call_handler handler,
                       cancellation* cancel)
{
    std::lock_guard lock(mu_);
    if (state_ == state::closed)
        return post_error(std::move(handler), closed_reason_);
    if (pending_.contains(id) || id == 0) // misuse: ids come from next_request_id()
        return post_error(std::move(handler), error::protocol_error);
    const auto& o = shared_->options;
    if (pending_.size() >= o.max_in_flight_per_server ||
        (state_ != state::open && queue_.size() >= o.max_pending_per_server) ||
        (state_ == state::open && mailbox_->queued_bytes() + f.body_size() > o.max_queued_bytes_per_server))
        return post_error(std::move(handler), error::queue_full);
    if (cancel && !cancel->attach(weak_from_this(), id))
        return post_error(std::move(handler), std::make_error_code(std::errc::operation_canceled));
    pending_.insert(id, deadline, std::move(handler));
    if (state_ == state::open)
        send_request_locked(std::move(f), timeout);
    else
        queue_.push_back(queued{std::move(f), id, {}, deadline});
    if (state_ == state::idle)
        start_cycle_locked();
    if (!call_timer_armed_ || deadline < call_timer_at_)
        arm_call_timer_locked();
}

void server_slot::cancel(std::uint64_t id)
{
    std::optional<call_handler> h;
    {
        std::lock_guard lock(mu_);
        h = pending_.take(id); // a queued frame of it is skipped when the link opens
    }
    if (h) {
        auto ec = std::make_error_code(std::errc::operation_canceled);
        shared_->counters.count(ec);
        (*h)(ec, nullptr);
    }
}

void server_slot::notify(frame f, status_handler handler)
{
    std::unique_lock lock(mu_);
    auto fail = [&](std::error_code ec) {
        asio::post(shared_->executor, [h = std::move(handler), ec, keep = shared_]() mutable { h(ec); });
    };
    if (state_ == state::closed)
        return fail(closed_reason_);
    if (state_ == state::open) {
        mailbox_->send(std::move(f));
        lock.unlock();
        asio::post(shared_->executor, [h = std::move(handler), keep = shared_]() mutable { h({}); });
        return;
    }
    if (queue_.size() >= shared_->options.max_pending_per_server)
        return fail(error::queue_full);
    queue_.push_back(queued{std::move(f), 0, std::move(handler), {}});
    ++queued_notifies_;
    if (state_ == state::idle)
        start_cycle_locked();
}

void server_slot::shutdown(std::error_code reason)
{
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (state_ == state::closed)
            return;
        drop_mailbox_locked();
        state_ = state::closed;
        closed_reason_ = reason;
        fail_all_locked(reason, done);
        ++call_timer_seq_;
        ++connect_timer_seq_;
        call_timer_.cancel();
        connect_timer_.cancel();
    }
    done.run();
}

std::size_t server_slot::pending() const
{
    std::lock_guard lock(mu_);
    return pending_.size() + queued_notifies_;
}

void server_slot::start_cycle_locked()
{
    state_ = state::connecting;
    connect_deadline_ = clock::now() + shared_->options.connect_timeout;
    backoff_ = shared_->options.reconnect_delay;
    waiting_retry_ = false;
    attempt_locked();
    arm_connect_timer_locked(connect_deadline_);
}

void server_slot::attempt_locked()
{
    auto gen = ++gen_;
    mailbox_context ctx{shared_->executor, info_,
                        std::make_shared<slot_sink>(weak_from_this(), gen),
                        shared_->options.max_frame_size};
    try {
        mailbox_ = factory_(ctx);
    } catch (const std::exception& e) {
        shared_->options.log.log(log_level::error, "mailbox factory for {} ({}) threw: {}",
                                 info_.id, info_.transport, e.what());
        mailbox_.reset();
    }
    if (!mailbox_) {
        // A factory that cannot build a mail box will not do better on retry; the connect
        // timer fails the queued calls with connect_failed.
        last_connect_error_ = error::connect_failed;
        return;
    }
    mailbox_->async_connect([weak = weak_from_this(), gen](std::error_code ec) {
        if (auto s = weak.lock())
            s->on_connected(gen, ec);
    });
}

void server_slot::drop_mailbox_locked()
{
    if (mailbox_) {
        mailbox_->close();
        mailbox_.reset();
    }
    ++gen_; // anything the old mail box still reports is stale
}

void server_slot::retry_or_fail_locked(std::error_code ec, completions& done)
{
    last_connect_error_ = ec;
    drop_mailbox_locked();
    auto now = clock::now();
    if (now + backoff_ >= connect_deadline_)
        return fail_cycle_locked(error::connect_failed, done);
    state_ = state::connecting;
    waiting_retry_ = true;
    arm_connect_timer_locked(now + backoff_);
    backoff_ = std::min(backoff_ * 2, shared_->options.max_reconnect_delay);
}

void server_slot::fail_cycle_locked(std::error_code ec, completions& done)
{
    shared_->options.log.log(log_level::warning, "could not connect to {} at {}:{} ({}): {}",
                             info_.id, info_.host, info_.port, info_.transport,
                             last_connect_error_ ? last_connect_error_.message() : "timed out");
    drop_mailbox_locked();
    state_ = state::idle;
    // Every pending call is still queued here: a link that was open failed its calls with
    // `disconnected` before the slot went back to idle.
    fail_all_locked(ec, done);
    ++connect_timer_seq_;
    connect_timer_.cancel();
}

void server_slot::fail_all_locked(std::error_code ec, completions& done)
{
    std::vector<call_handler> calls;
    pending_.take_all(calls);
    for (auto& h : calls)
        done.calls.emplace_back(std::move(h), ec);
    for (auto& q : queue_)
        if (q.id == 0)
            done.statuses.emplace_back(std::move(q.notify_handler), ec);
    queue_.clear();
    queued_notifies_ = 0;
}

void server_slot::open_locked(completions& done)
{
    state_ = state::open;
    ++connect_timer_seq_;
    connect_timer_.cancel();
    // Queued frames leave in call order, before anything sent after this point, each
    // telling the callee the time its call has left.
    const auto now = clock::now();
    for (auto& q : queue_) {
        if (q.id == 0) {
            mailbox_->send(std::move(q.f));
            done.statuses.emplace_back(std::move(q.notify_handler), std::error_code{});
        } else if (pending_.contains(q.id)) {
            send_request_locked(std::move(q.f), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    q.deadline - now));
        }
    }
    queue_.clear();
    queued_notifies_ = 0;
}

void server_slot::on_connected(std::uint64_t gen, std::error_code ec)
{
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (gen != gen_ || state_ != state::connecting)
            return;
        if (ec) {
            retry_or_fail_locked(ec, done);
        } else {
            state_ = state::handshaking;
            frame hello;
            protocol::encode_hello(hello, shared_->options.client_id);
            mailbox_->send(std::move(hello));
        }
    }
    done.run();
}

void server_slot::on_message(std::uint64_t gen, std::span<const char> body)
{
    protocol::detail::scratch_zone zone;
    protocol::message msg;
    auto dec = protocol::decode(body, zone.get(), msg);
    call_handler handler;
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (gen != gen_)
            return;
        if (state_ == state::handshaking) {
            if (dec || msg.kind != protocol::message_kind::hello_ack) {
                last_connect_error_ = error::protocol_error;
                fail_cycle_locked(error::connect_failed, done);
            } else if (msg.hello.code != 0) {
                last_connect_error_ = std::error_code(msg.hello.code, error_category());
                fail_cycle_locked(last_connect_error_, done);
            } else if (!msg.hello.peer_id.empty() && msg.hello.peer_id != info_.id) {
                // The address now belongs to another server (a restart moved ids around):
                // never deliver calls for one server to another.
                last_connect_error_ = error::unknown_server;
                shared_->options.log.log(log_level::error, "{} at {}:{} answered as {}",
                                         info_.id, info_.host, info_.port, msg.hello.peer_id);
                fail_cycle_locked(error::connect_failed, done);
            } else {
                open_locked(done);
            }
        } else if (state_ == state::open) {
            if (!dec && msg.kind == protocol::message_kind::ping) {
                frame pong; // transports usually answer pings themselves; this one did not
                protocol::encode_pong(pong, msg.nonce);
                mailbox_->send(std::move(pong));
            } else if (!dec && msg.kind == protocol::message_kind::pong) {
                // liveness only
            } else if (dec || msg.kind != protocol::message_kind::response) {
                shared_->options.log.log(log_level::error, "protocol error from {}: {}", info_.id,
                                         dec ? dec.message() : "unexpected message kind");
                drop_mailbox_locked();
                state_ = state::idle;
                fail_all_locked(error::disconnected, done);
            } else if (auto h = pending_.take(msg.response.id)) {
                handler = std::move(*h);
            } else {
                // A late reply to a call that already completed (timeout, cancel): dropped
                // by design, and counted.
                ++shared_->counters.late_replies;
            }
        }
    }
    done.run();
    if (handler)
        handler({}, &msg.response);
}

void server_slot::on_close(std::uint64_t gen, std::error_code ec)
{
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (gen != gen_)
            return;
        if (state_ == state::open) {
            if (ec == error::queue_full) // the server stopped reading our calls
                ++shared_->counters.queue_full;
            shared_->options.log.log(log_level::info, "link to {} closed: {}", info_.id,
                                     ec.message());
            drop_mailbox_locked();
            state_ = state::idle;
            fail_all_locked(error::disconnected, done);
        } else if (state_ == state::handshaking) {
            retry_or_fail_locked(ec, done);
        }
    }
    done.run();
}

void server_slot::arm_call_timer_locked()
{
    auto next = pending_.next_deadline();
    if (!next)
        return;
    call_timer_armed_ = true;
    call_timer_at_ = *next;
    auto seq = ++call_timer_seq_;
    call_timer_.expires_at(*next);
    call_timer_.async_wait([weak = weak_from_this(), seq](const boost::system::error_code&) {
        if (auto s = weak.lock())
            s->on_call_timer(seq);
    });
}

void server_slot::on_call_timer(std::uint64_t seq)
{
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (seq != call_timer_seq_)
            return; // re-armed or cancelled since
        call_timer_armed_ = false;
        std::vector<call_handler> expired;
        pending_.take_expired(clock::now(), expired);
        for (auto& h : expired)
            done.calls.emplace_back(std::move(h), error::timeout);
        arm_call_timer_locked();
    }
    done.run();
}

void server_slot::arm_connect_timer_locked(clock::time_point at)
{
    auto seq = ++connect_timer_seq_;
    connect_timer_.expires_at(at);
    connect_timer_.async_wait([weak = weak_from_this(), seq](const boost::system::error_code&) {
        if (auto s = weak.lock())
            s->on_connect_timer(seq);
    });
}

void server_slot::on_connect_timer(std::uint64_t seq)
{
    completions done{&shared_->counters, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (seq != connect_timer_seq_)
            return;
        if (state_ != state::connecting && state_ != state::handshaking)
            return;
        if (clock::now() >= connect_deadline_) {
            fail_cycle_locked(error::connect_failed, done);
        } else if (waiting_retry_) {
            waiting_retry_ = false;
            attempt_locked();
            arm_connect_timer_locked(connect_deadline_);
        } else {
            arm_connect_timer_locked(connect_deadline_);
        }
    }
    done.run();
}

} // namespace mailroom::detail
