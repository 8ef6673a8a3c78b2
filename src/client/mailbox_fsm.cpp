#include "mailbox_fsm.hpp"

#include <mailroom/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <climits>

namespace mailroom::detail {
namespace {

std::uint32_t millis_left(std::chrono::steady_clock::time_point deadline,
                          std::chrono::steady_clock::time_point now) noexcept
{
    // The callee learns the time its call has left; at least 1 ms (0 means "not given").
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    return static_cast<std::uint32_t>(std::clamp<long long>(left, 1, UINT32_MAX));
}

} // namespace

bool is_permanent_connect_error(std::error_code ec) noexcept
{
    // mailroom's own (version_mismatch, wrong_server) and every transport error whose
    // category declares it (ws: 401, 403, 404; tcp's TLS: certificate and key errors). The
    // core needs no transport's header, and no category is recognised by its name.
    return ec && ec == condition::permanent;
}

mailbox_fsm::mailbox_fsm(mailbox_fsm_config config)
    : config_(std::move(config)), probe_backoff_(config_.probe_delay),
      jitter_state_(config_.jitter_seed)
{
}

std::chrono::milliseconds mailbox_fsm::next_probe_delay() noexcept
{
    // splitmix64: a different delay for each server and each probe, so that the callers of
    // a server that went down do not all probe it in step.
    std::uint64_t z = (jitter_state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const auto d = probe_backoff_;
    probe_backoff_ = std::min(probe_backoff_ * 2, config_.max_probe_delay);
    const auto half = d.count() / 2;
    return std::chrono::milliseconds(half + static_cast<std::int64_t>(z % static_cast<std::uint64_t>(
                                                                            d.count() - half + 1)));
}

void mailbox_fsm::arm_connect_timer(fsm_actions& out, time_point at)
{
    out.connect_timer = at;
    out.cancel_connect_timer = false;
}

void mailbox_fsm::cancel_connect_timer(fsm_actions& out)
{
    out.connect_timer.reset();
    out.cancel_connect_timer = true;
}

mailbox_fsm::admission mailbox_fsm::call(fsm_actions& out, time_point now, std::uint64_t id,
                                         frame& f, time_point deadline, call_handler& h,
                                         std::size_t link_bytes)
{
    if (state_ >= state::draining)
        if (auto ec = refusal(now))
            return {admit::failed, ec};
    if (down_)
        return {admit::failed, down_reason_};
    if (stalled_) // the link is open but its keepalive went unanswered: not queued on it
        return {admit::failed, error::not_sent};
    const std::size_t size = f.body_size();
    if (pending_.size() >= config_.max_in_flight)
        return {admit::failed, error::queue_full};
    if (link_up() ? link_bytes + size > config_.max_queued_bytes
                  : queue_.size() >= config_.max_pending ||
                        queued_bytes_ + size > config_.max_queued_bytes)
        return {admit::failed, error::queue_full};
    // Refuses id 0 and an id already pending (misuse: ids come from next_request_id()),
    // leaving `h` to the caller; one lookup of the id.
    if (!pending_.insert(id, deadline, std::move(h)))
        return {admit::failed, error::protocol_error};
    if (!call_timer_at_ || deadline < *call_timer_at_) {
        call_timer_at_ = deadline;
        out.call_timer = deadline;
        out.more = true;
    }
    if (link_up())
        return {admit::send, {}, millis_left(deadline, now)};
    queue_.push_back(queued{std::move(f), id, {}, deadline});
    queued_bytes_ += size;
    if (state_ == state::idle)
        start_cycle(out, now);
    return {admit::queued, {}};
}

mailbox_fsm::admission mailbox_fsm::notify(fsm_actions& out, time_point now, frame& f,
                                           status_handler& h, std::size_t link_bytes)
{
    if (state_ >= state::draining)
        if (auto ec = refusal(now))
            return {admit::failed, ec};
    if (down_)
        return {admit::failed, down_reason_};
    if (stalled_) // the link is open but its keepalive went unanswered: not queued on it
        return {admit::failed, error::not_sent};
    // The same byte bound as calls: a notify flood must not overflow the mail box's write
    // queue (which closes the link and fails every call on it).
    const std::size_t size = f.body_size();
    if (link_up()) {
        if (link_bytes + size > config_.max_queued_bytes)
            return {admit::failed, error::queue_full};
        return {admit::send, {}};
    }
    if (queue_.size() >= config_.max_pending || queued_bytes_ + size > config_.max_queued_bytes)
        return {admit::failed, error::queue_full};
    queue_.push_back(queued{std::move(f), 0, std::move(h), {}});
    ++queued_notifies_;
    queued_bytes_ += size;
    if (state_ == state::idle)
        start_cycle(out, now);
    return {admit::queued, {}};
}

std::error_code mailbox_fsm::refusal(time_point now)
{
    if (state_ != state::held)
        return closed_reason_;
    if (now < held_until_)
        return held_reason_;
    state_ = state::idle; // the hold is over: this call connects again
    return {};
}

void mailbox_fsm::cancel(fsm_actions& out, std::uint64_t id)
{
    out.more = true;
    // A queued frame of it stays in queue_ and is skipped when the link opens.
    if (auto h = pending_.take(id)) {
        out.calls.emplace_back(std::move(*h), error::cancelled);
        finish_if_drained(out);
    }
}

void mailbox_fsm::start_cycle(fsm_actions& out, time_point now)
{
    out.more = true;
    connect_deadline_ = now + config_.connect_timeout;
    backoff_ = config_.reconnect_delay;
    last_connect_error_ = {};
    attempt(out);
    arm_connect_timer(out, connect_deadline_);
}

void mailbox_fsm::attempt(fsm_actions& out)
{
    state_ = state::connecting;
    box_ = true;
    out.connect_gen = ++gen_;
}

void mailbox_fsm::drop_box(fsm_actions& out)
{
    stalled_ = false;
    if (box_) {
        out.close_box = true;
        box_ = false;
    }
    ++gen_; // anything the old mail box still reports is stale
}

void mailbox_fsm::on_connected(fsm_actions& out, time_point now, std::uint64_t gen,
                               std::error_code ec)
{
    out.more = true;
    if (gen != gen_ || !box_ || state_ != state::connecting)
        return;
    if (ec)
        return retry_or_fail(out, now, ec);
    if (!config_.protocol->has_handshake())
        return opened(out, now);
    state_ = state::handshaking;
    handshake_.emplace();
    out.sends.push_back(handshake_->hello(handshake_ends()));
}

const char* mailbox_fsm::state_name() const noexcept
{
    switch (state_) {
    case state::idle: return "idle";
    case state::connecting: return "connecting";
    case state::retry_wait: return "retry_wait";
    case state::handshaking: return "handshaking";
    case state::open: return "open";
    case state::draining: return "draining";
    case state::closed: return "closed";
    case state::held: return "held";
    }
    return "unknown";
}

void mailbox_fsm::opened(fsm_actions& out, time_point now)
{
    ++links_opened_;
    if (down_) {
        log(out, log_level::info, "{} at {} is reachable again", config_.server_id,
            config_.address);
        down_ = false;
    }
    probe_backoff_ = config_.probe_delay;
    state_ = state::open;
    cancel_connect_timer(out);
    flush(out, now);
}

void mailbox_fsm::on_factory_failed(fsm_actions& out, time_point now, std::uint64_t gen,
                                    std::string what)
{
    out.more = true;
    if (gen != gen_ || !box_ || state_ != state::connecting)
        return;
    box_ = false; // there is none to close
    log(out, log_level::error, "mailbox factory for {} ({}) failed: {}", config_.server_id,
        config_.address, what);
    // A factory that cannot build a mail box will not do better on retry.
    last_connect_error_ = error::connect_failed;
    fail_cycle(out, now, error::connect_failed);
}

void mailbox_fsm::retry_or_fail(fsm_actions& out, time_point now, std::error_code ec)
{
    last_connect_error_ = ec;
    drop_box(out);
    if (is_permanent_connect_error(ec))
        return fail_cycle(out, now, ec.category() == error_category() ? ec : error::connect_failed);
    if (now + backoff_ >= connect_deadline_)
        return fail_cycle(out, now, error::connect_failed);
    state_ = state::retry_wait;
    arm_connect_timer(out, now + backoff_);
    backoff_ = std::min(backoff_ * 2, config_.max_reconnect_delay);
}

void mailbox_fsm::fail_cycle(fsm_actions& out, time_point now, std::error_code ec)
{
    drop_box(out);
    state_ = state::idle;
    cancel_connect_timer(out);
    // Every pending call is still queued here: a link that was open failed its calls before
    // the machine went back to idle.
    fail_all(out, ec, ec);
    if (config_.probe_delay.count() <= 0) {
        log(out, log_level::warning, "could not connect to {} at {}: {}", config_.server_id,
            config_.address, last_connect_error_ ? last_connect_error_.message() : "timed out");
        return;
    }
    // Down: calls fail at once instead of each waiting for a connect timeout of its own, and
    // a probe (a cycle without calls) runs later. One line when it goes down, none per probe.
    const auto delay = next_probe_delay();
    if (!down_)
        log(out, log_level::warning, "could not connect to {} at {}: {}; marked down, probing "
            "again in {} ms", config_.server_id, config_.address,
            last_connect_error_ ? last_connect_error_.message() : "timed out", delay.count());
    down_ = true;
    down_reason_ = ec;
    arm_connect_timer(out, now + delay);
}

void mailbox_fsm::handshake_failed(fsm_actions& out, time_point now,
                                   client_handshake::step& s)
{
    handshake_.reset();
    last_connect_error_ = s.cause;
    if (!s.complaint.empty())
        log(out, log_level::error, "{} at {} {}", config_.server_id, config_.address,
            s.complaint);
    fail_cycle(out, now, s.ec);
    // Marked down (probe_delay), the server already refuses calls at once until a probe
    // reaches it; without down marking, a hold does that for a while.
    if (!down_ && (s.ec == error::auth_failed || s.ec == error::auth_required ||
                   s.ec == error::auth_unavailable)) {
        // A refused secret is refused again on every attempt: calls fail at once for a
        // while instead of each opening a link the server refuses (issue 16).
        state_ = state::held;
        held_until_ = now + config_.max_reconnect_delay;
        held_reason_ = s.ec;
    }
}

void mailbox_fsm::fail_queued(fsm_actions& out, std::error_code ec)
{
    for (auto& q : queue_) {
        if (q.id == 0)
            out.statuses.emplace_back(std::move(q.notify_handler), ec);
        else if (auto h = pending_.take(q.id))
            out.calls.emplace_back(std::move(*h), ec);
    }
    queue_.clear();
    queued_notifies_ = 0;
    queued_bytes_ = 0;
}

void mailbox_fsm::fail_all(fsm_actions& out, std::error_code queued_ec, std::error_code sent_ec)
{
    fail_queued(out, queued_ec);
    if (pending_.empty())
        return;
    std::vector<call_handler> sent;
    pending_.take_all(sent);
    for (auto& h : sent)
        out.calls.emplace_back(std::move(h), sent_ec);
}

void mailbox_fsm::flush(fsm_actions& out, time_point now)
{
    // Queued frames leave in call order, before anything admitted after the flush ends
    // (calls made meanwhile queue behind them), each telling the callee the time it has left.
    flushing_ = !queue_.empty();
    if (!flushing_)
        return;
    for (auto& q : queue_) {
        if (q.id == 0) {
            out.sends.push_back(std::move(q.f));
            out.statuses.emplace_back(std::move(q.notify_handler), std::error_code{});
        } else if (pending_.contains(q.id)) {
            config_.protocol->patch_request_timeout(q.f, millis_left(q.deadline, now));
            out.sends.push_back(std::move(q.f));
        }
    }
    queue_.clear();
    queued_notifies_ = 0;
    queued_bytes_ = 0;
    out.flushed = true;
}

void mailbox_fsm::on_flushed(fsm_actions& out, time_point now)
{
    out.more = true;
    if (state_ != state::open || !flushing_) {
        flushing_ = false;
        return;
    }
    flush(out, now);
}

void mailbox_fsm::lost_link(fsm_actions& out, std::error_code sent_ec)
{
    drop_box(out);
    flushing_ = false;
    fail_all(out, error::not_sent, sent_ec);
    if (state_ == state::draining) {
        state_ = state::closed;
        cancel_connect_timer(out);
    } else {
        state_ = state::idle;
    }
}

void mailbox_fsm::on_message(fsm_actions& out, time_point now, std::uint64_t gen,
                             std::error_code dec, const protocol::message& msg)
{
    if (gen != gen_ || !box_)
        return;
    if (state_ == state::handshaking) {
        out.more = true;
        auto step = handshake_->on_message(handshake_ends(), dec, msg);
        if (step.what == client_handshake::step::fail)
            return handshake_failed(out, now, step);
        if (step.reply)
            out.sends.push_back(std::move(*step.reply));
        if (step.what == client_handshake::step::open) {
            handshake_.reset();
            opened(out, now);
        }
        return;
    }
    if (state_ != state::open && state_ != state::draining)
        return;
    if (!dec && msg.kind == protocol::message_kind::response) {
        if (pending_.take(msg.response.id, out.responded)) {
            finish_if_drained(out);
        } else {
            // A late reply to a call that already completed (timeout, cancel): dropped by
            // design, and counted.
            out.more = true;
            ++out.late_replies;
        }
        return;
    }
    out.more = true;
    if (!dec && msg.kind == protocol::message_kind::ping) {
        frame pong; // links usually answer pings themselves; this one did not
        config_.protocol->encode_pong(pong, msg.nonce);
        out.sends.push_back(std::move(pong));
    } else if (!dec && msg.kind == protocol::message_kind::pong) {
        // liveness only
    } else {
        log(out, log_level::error, "protocol error from {}: {}", config_.server_id,
            dec ? dec.message() : "unexpected message kind");
        lost_link(out, error::disconnected);
    }
}

void mailbox_fsm::on_close(fsm_actions& out, time_point now, std::uint64_t gen, std::error_code ec)
{
    out.more = true;
    if (gen != gen_ || !box_)
        return;
    if (state_ == state::open || state_ == state::draining) {
        if (ec == error::queue_full) // the server stopped reading our calls
            out.link_queue_full = true;
        log(out, log_level::info, "link to {} closed: {}", config_.server_id, ec.message());
        lost_link(out, error::disconnected);
    } else if (state_ == state::handshaking) {
        retry_or_fail(out, now, ec);
    }
}

void mailbox_fsm::on_stall(fsm_actions& out, std::uint64_t gen, bool stalled)
{
    out.more = true;
    if (gen != gen_ || !box_ || state_ != state::open || stalled == stalled_)
        return;
    stalled_ = stalled;
    if (stalled)
        log(out, log_level::warning, "{} at {} does not answer its keepalive: new calls fail "
            "with not_sent until it does or the link closes ({} in flight wait)",
            config_.server_id, config_.address, pending_.size());
    else
        log(out, log_level::info, "{} at {} answers its keepalive again", config_.server_id,
            config_.address);
}

void mailbox_fsm::rearm_call_timer(fsm_actions& out)
{
    call_timer_at_ = pending_.next_deadline();
    if (call_timer_at_)
        out.call_timer = *call_timer_at_;
}

void mailbox_fsm::on_call_timer(fsm_actions& out, time_point now)
{
    out.more = true;
    std::vector<call_handler> expired;
    pending_.take_expired(now, expired);
    for (auto& h : expired)
        out.calls.emplace_back(std::move(h), error::timeout);
    rearm_call_timer(out);
    if (!expired.empty())
        finish_if_drained(out);
}

void mailbox_fsm::on_connect_timer(fsm_actions& out, time_point now)
{
    out.more = true;
    switch (state_) {
    case state::connecting:
    case state::handshaking:
        if (now >= connect_deadline_)
            fail_cycle(out, now, error::connect_failed);
        else
            arm_connect_timer(out, connect_deadline_);
        break;
    case state::retry_wait:
        if (now >= connect_deadline_) {
            fail_cycle(out, now, error::connect_failed);
        } else {
            attempt(out);
            arm_connect_timer(out, connect_deadline_);
        }
        break;
    case state::idle:
        if (down_) // time to probe: a cycle without calls (they fail at once meanwhile)
            start_cycle(out, now);
        break;
    case state::draining:
        log(out, log_level::info,
            "{} left the table; {} call(s) still unanswered after the drain timeout",
            config_.server_id, pending_.size());
        lost_link(out, error::disconnected);
        break;
    default:
        break;
    }
}

void mailbox_fsm::finish_if_drained(fsm_actions& out)
{
    if (state_ == state::draining && pending_.empty()) {
        out.more = true;
        drop_box(out);
        state_ = state::closed;
        cancel_connect_timer(out);
    }
}

void mailbox_fsm::remove(fsm_actions& out, time_point now, std::chrono::milliseconds drain)
{
    out.more = true;
    if (state_ == state::closed || state_ == state::draining)
        return;
    closed_reason_ = error::not_sent;
    fail_queued(out, error::not_sent);
    flushing_ = false;
    if (state_ == state::open && !pending_.empty() && drain.count() > 0) {
        state_ = state::draining;
        arm_connect_timer(out, now + drain);
        return;
    }
    drop_box(out);
    fail_all(out, error::not_sent, error::disconnected);
    state_ = state::closed;
    cancel_connect_timer(out);
}

void mailbox_fsm::shutdown(fsm_actions& out, std::error_code reason)
{
    out.more = true;
    if (state_ == state::closed)
        return;
    drop_box(out);
    state_ = state::closed;
    closed_reason_ = reason;
    flushing_ = false;
    fail_all(out, reason, reason);
    cancel_connect_timer(out);
}

} // namespace mailroom::detail
