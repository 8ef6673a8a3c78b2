#pragma once

#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/logger.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "client_handshake.hpp"
#include "pending_calls.hpp"

namespace mailroom::detail {

/** Whether a failed connect (or handshake) will fail the same way on every retry, so the calls
    queued for it fail at once instead of waiting for the connect timeout: the error is
    equivalent to `condition::permanent` (the server refused our protocol version, answered
    as another server, presented a certificate we do not trust, refused the WebSocket upgrade
    as unauthorized or for an unknown path). Transports declare their codes through their
    category's `equivalent()`.
*/
bool is_permanent_connect_error(std::error_code ec) noexcept;

/** What the state machine asks its driver to do, in this order: timers (under the driver's
    lock), then, after the lock is released, the mail box (close, send, make/connect), then
    logs, then completions. The driver keeps one and reuses it: the usual call or response
    sets nothing but `responded`, so nothing is built or destroyed per call.
*/
struct fsm_actions {
    using time_point = std::chrono::steady_clock::time_point;

    /// Anything below but `responded` is set. False for the usual call (admitted, nothing
    /// else to do) and the usual response: the driver then only unlocks.
    bool more = false;

    /// Nonzero: make a mail box of this generation and connect it. Its events carry `gen`.
    std::uint64_t connect_gen = 0;
    /// Close the mail box the driver holds (its generation is over).
    bool close_box = false;
    /// Frames for the current mail box, in order: the hello, a pong, queued calls leaving as
    /// the link opens. An admitted call or notify is not among them: the machine answers
    /// `admit::send` and the caller sends its own frame, so the usual call adds nothing here.
    std::vector<frame> sends;
    /// The frames in `sends` are queued calls leaving as the link opens: once they are
    /// handed to the mail box, report @ref mailbox_fsm::on_flushed.
    bool flushed = false;

    /// The call the response being handled belongs to (null if none).
    call_handler responded;
    /// Calls to complete with an error.
    std::vector<std::pair<call_handler, std::error_code>> calls;
    /// Notifies to complete (with success once their frame left, or an error).
    std::vector<std::pair<status_handler, std::error_code>> statuses;

    /// Arm the call timer at this time (replaces an earlier one).
    std::optional<time_point> call_timer;
    /// Arm the connect timer at this time (replaces an earlier one).
    std::optional<time_point> connect_timer;
    /// Cancel the connect timer.
    bool cancel_connect_timer = false;

    /// Lines for the log sink.
    std::vector<std::pair<log_level, std::string>> logs;
    /// Responses that arrived for calls that had already completed.
    std::uint32_t late_replies = 0;
    /// The link closed because the server stopped reading (its write queue overflowed).
    bool link_queue_full = false;
};

/// The limits and names the state machine works with (from mail_station_options).
struct mailbox_fsm_config {
    std::string server_id;
    std::string client_id;
    /// For log lines only: "host:port (transport)".
    std::string address;
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds reconnect_delay{20};
    std::chrono::milliseconds max_reconnect_delay{1'000};
    /// After a failed connect cycle, the server is down: calls fail at once, and it is
    /// probed after `probe_delay` (doubling to `max_probe_delay`, with jitter). Zero: never
    /// down, every call starts its own cycle.
    std::chrono::milliseconds probe_delay{1'000};
    std::chrono::milliseconds max_probe_delay{30'000};
    /// Seeds the probe delays' jitter (the machine draws no randomness of its own).
    std::uint64_t jitter_seed = 0x9E3779B97F4A7C15ull;
    std::size_t max_pending = 10'000;
    std::size_t max_in_flight = 65'536;
    std::size_t max_queued_bytes = 32u << 20;
    /// Log lines below this level are not even formatted.
    log_level min_log_level = log_level::warning;
    /// The protocol the server speaks: whether there is a handshake, what a hello and a pong
    /// are, how a queued request's timeout is rewritten. Pure functions: no I/O.
    const wire_protocol* protocol = native_protocol().get();
    /// The cluster secret (mail_station_options::auth); empty: the client does not
    /// authenticate.
    std::string auth_secret;
    /// The incarnation expected (server_info::epoch); 0: any.
    std::uint64_t epoch = 0;
};

/** The station's state for one remote server, as a pure state machine (sans-I/O): no Asio,
    no locks, no threads, no clock. Events come in as member calls (the time, when it
    matters, is an argument); what to do comes out in @ref fsm_actions.

    Lifecycle: idle -> connecting (-> retry_wait -> connecting ...) -> handshaking (a protocol
    with a handshake only) -> open
    -> (link lost) idle -> ...; removing the server with calls in flight goes to draining
    (they may still finish), then closed; closed is final. A refused authentication goes to
    held for `max_reconnect_delay`: calls made meanwhile fail at once with the refusal instead
    of opening a link per call, then the next call connects again. Every mail box gets a new
    generation number: events of a generation the machine gave up on are ignored.

    A call is in exactly one place: in `pending_` (sent or queued; a queued one also has its
    frame in `queue_`), or completed. Whoever takes it from `pending_` completes it.

    @par Thread safety
    None: the driver serialises every event (server_slot holds it under a mutex).
*/
class mailbox_fsm {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    explicit mailbox_fsm(mailbox_fsm_config config);

    /// What to do with the frame of an admitted call or notify.
    enum class admit {
        failed, ///< refused: complete the handler with the error (it was not taken)
        queued, ///< the machine took the frame and the handler; the link is not open yet
        send,   ///< send the frame now (requests: with `timeout_ms`); the handler was taken
                ///< for a call, left to the caller for a notify (complete it with success)
    };
    struct admission {
        admit what;
        std::error_code ec;
        std::uint32_t timeout_ms = 0;
    };

    // --- events ---

    /// A call `id` that waits until `deadline`. `link_bytes`: bytes the current mail box
    /// holds unsent.
    admission call(fsm_actions& out, time_point now, std::uint64_t id, frame& f,
                   time_point deadline, call_handler& h, std::size_t link_bytes);
    /// A notify (no response).
    admission notify(fsm_actions& out, time_point now, frame& f, status_handler& h,
                     std::size_t link_bytes);
    /// Cancels call `id` if it is still pending (it completes with `cancelled`).
    void cancel(fsm_actions& out, std::uint64_t id);

    /// The connect of mail box `gen` finished.
    void on_connected(fsm_actions& out, time_point now, std::uint64_t gen, std::error_code ec);
    /// The factory could not make mail box `gen` (`what` says why).
    void on_factory_failed(fsm_actions& out, time_point now, std::uint64_t gen, std::string what);
    /// Mail box `gen` received a message (`dec`: the decoding error, if any). `now` is read
    /// only for a hello_ack.
    void on_message(fsm_actions& out, time_point now, std::uint64_t gen, std::error_code dec,
                    const protocol::message& msg);
    /// Mail box `gen` reported that its peer stopped answering the keepalive, or answers again
    /// (mailbox_handler::on_stall). Stalled, an open link admits no new call or notify: they
    /// fail with `not_sent`. A new link starts unstalled.
    void on_stall(fsm_actions& out, std::uint64_t gen, bool stalled);
    /// Mail box `gen` reported that its link went down.
    void on_close(fsm_actions& out, time_point now, std::uint64_t gen, std::error_code ec);
    /// The frames of a flush were handed to the mail box.
    void on_flushed(fsm_actions& out, time_point now);
    /// The call timer fired.
    void on_call_timer(fsm_actions& out, time_point now);
    /// The connect timer fired (connect deadline, retry delay or drain deadline).
    void on_connect_timer(fsm_actions& out, time_point now);

    /** The server left the table. Calls not sent fail with `not_sent`; calls sent may still
        finish until `now + drain` (then they fail with `disconnected`); new calls fail with
        `not_sent`.
    */
    void remove(fsm_actions& out, time_point now, std::chrono::milliseconds drain);
    /// Final close: every call fails with `reason`, and so does every later call.
    void shutdown(fsm_actions& out, std::error_code reason);
    /// The incarnation the next handshakes expect (0: any); the open link stays.
    void expect_epoch(std::uint64_t epoch) noexcept { config_.epoch = epoch; }

    // --- observers ---

    /// The generation of the mail box the machine currently expects (0: none).
    std::uint64_t generation() const noexcept { return box_ ? gen_ : 0; }
    /// Calls waiting for a response or the link, plus queued notifies.
    std::size_t pending() const noexcept { return pending_.size() + queued_notifies_; }
    /// Requests sent or queued and not completed: the load routers see.
    std::size_t calls_in_flight() const noexcept { return pending_.size(); }
    /// The last connect cycle failed and none has succeeded since: calls fail at once while
    /// the machine probes the server in the background.
    bool down() const noexcept { return down_; }
    /// The open link's peer does not answer its keepalive (see on_stall).
    bool stalled() const noexcept { return stalled_; }
    bool closed() const noexcept { return state_ == state::closed; }
    bool open() const noexcept { return state_ == state::open && !flushing_; }
    /// The state's name, for metrics ("idle", "connecting", ..., "held").
    const char* state_name() const noexcept;
    /// Bytes of the frames queued while the link is not open.
    std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    /// Links opened (handshake done) since the machine was made.
    std::uint64_t links_opened() const noexcept { return links_opened_; }

private:
    // draining, closed and held refuse calls: they sit last, so one comparison tells.
    enum class state { idle, connecting, retry_wait, handshaking, open, draining, closed, held };

    struct queued {
        frame f;
        std::uint64_t id; // 0 for a notify
        status_handler notify_handler;
        time_point deadline;
    };

    bool link_up() const noexcept { return state_ == state::open && !flushing_; }
    void start_cycle(fsm_actions& out, time_point now);
    void attempt(fsm_actions& out);
    void drop_box(fsm_actions& out);
    void retry_or_fail(fsm_actions& out, time_point now, std::error_code ec);
    void fail_cycle(fsm_actions& out, time_point now, std::error_code ec);
    /// The next probe's delay, jittered into [d/2, d], and the one after it doubled.
    std::chrono::milliseconds next_probe_delay() noexcept;
    /// The handshake ended in failure `s` (at `now`).
    void handshake_failed(fsm_actions& out, time_point now, client_handshake::step& s);
    /// A call or notify met a state that refuses it (draining, closed, held): the error,
    /// or none when a hold has ended (the state is idle again).
    std::error_code refusal(time_point now);
    void fail_queued(fsm_actions& out, std::error_code ec);
    void fail_all(fsm_actions& out, std::error_code queued_ec, std::error_code sent_ec);
    /// The link is ready for calls (handshake done, or none): queued calls leave.
    void opened(fsm_actions& out, time_point now);
    void flush(fsm_actions& out, time_point now);
    void lost_link(fsm_actions& out, std::error_code sent_ec);
    void rearm_call_timer(fsm_actions& out);
    void finish_if_drained(fsm_actions& out);
    void arm_connect_timer(fsm_actions& out, time_point at);
    client_handshake::ends handshake_ends() const noexcept
    {
        return {*config_.protocol, config_.auth_secret, config_.client_id, config_.server_id,
                config_.epoch};
    }
    void cancel_connect_timer(fsm_actions& out);

    template <class... Args>
    void log(fsm_actions& out, log_level lvl, fmt::format_string<Args...> fmt, Args&&... args)
    {
        if (lvl >= config_.min_log_level && config_.min_log_level != log_level::off)
            out.logs.emplace_back(lvl, fmt::format(fmt, std::forward<Args>(args)...));
    }

    mailbox_fsm_config config_;
    state state_ = state::idle;
    bool flushing_ = false;
    bool box_ = false; // a mail box of generation gen_ exists
    std::error_code closed_reason_;
    std::uint64_t gen_ = 0;
    pending_calls<call_handler> pending_;
    std::deque<queued> queue_;
    std::size_t queued_notifies_ = 0;
    std::size_t queued_bytes_ = 0;

    std::optional<time_point> call_timer_at_;
    time_point connect_deadline_{};
    std::chrono::milliseconds backoff_{};
    bool down_ = false;
    bool stalled_ = false; // see stalled()
    std::error_code down_reason_;            // what calls fail with while down_
    std::chrono::milliseconds probe_backoff_{}; // the next probe's delay before jitter
    std::uint64_t jitter_state_;
    std::error_code last_connect_error_;
    std::optional<client_handshake> handshake_; // while handshaking
    time_point held_until_{};                    // state held: refused authentication
    std::error_code held_reason_;
    std::uint64_t links_opened_ = 0;
};

} // namespace mailroom::detail
