#pragma once

#include "mailbox_fsm.hpp"

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/mailbox.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace mailroom::detail {

/// Counters of a station (see mail_station::stats).
struct station_counters {
    std::atomic<std::uint64_t> queue_full{0}, timeouts{0}, disconnected{0}, connect_failed{0},
        cancelled{0}, late_replies{0}, not_sent{0};

    /// Counts a call that ends with `ec`.
    void count(std::error_code ec) noexcept;
};

/// What every slot of one station shares.
struct station_shared {
    station_shared(asio::any_io_executor ex, mail_station_options o)
        : executor(std::move(ex)), options(std::move(o))
    {
    }
    asio::any_io_executor executor;
    mail_station_options options;
    station_counters counters;
};

/** The driver of one server's @ref mailbox_fsm: feeds it events (calls, the mail box's
    events, timers) under a mutex, then does what it asked after releasing the mutex. The
    factory, the mail box (connect, send, close), the log sink and completions never run under
    the lock. Only the Asio timers are armed under it (they are not thread-safe, and arming
    one runs no handler) and the mail box's `queued_bytes()` is read under it (a counter).

    A call takes the lock once: admitted, it is sent by the calling thread after the lock is
    released. Completions of errors found while initiating are posted to the station's
    executor; completions caused by an event run inline, on the thread of the event.
*/
class server_slot final : public std::enable_shared_from_this<server_slot>,
                          public cancel_target {
public:
    using clock = std::chrono::steady_clock;

    server_slot(std::shared_ptr<station_shared> shared, server_info info, mailbox_factory factory,
                std::shared_ptr<const wire_protocol> protocol);

    /// A call `id` that waits until `deadline`; `now` is when it was made (same clock).
    void call(std::uint64_t id, frame&& f, clock::time_point now, clock::time_point deadline,
              call_handler&& handler, cancellation* cancel);
    void notify(frame&& f, status_handler handler);
    void cancel_call(std::uint64_t id) override;

    /// The server left the table: see mailbox_fsm::remove. The slot keeps itself alive while
    /// its calls drain.
    void remove(std::chrono::milliseconds drain);
    /// Final close: everything pending completes with `reason`, later calls too.
    void shutdown(std::error_code reason);
    /// The incarnation the next handshakes expect (the entry learnt its epoch).
    void expect_epoch(std::uint64_t epoch);

    std::size_t pending() const;
    /// The mail box's state and queues now (takes the lock).
    mail_station::mailbox_status status() const;
    /** Requests sent or queued and not completed, without the lock: a copy of the machine's
        count, stored after every event (routers read it on every call).
    */
    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    /// Whether the server is down (its last connect cycle failed) or its open link stalled,
    /// without the lock.
    bool down() const noexcept { return down_.load(std::memory_order_relaxed); }
    const server_info& info() const noexcept { return info_; }
    const std::shared_ptr<const wire_protocol>& protocol() const noexcept { return protocol_; }

    // Events from the mail box of generation `gen`.
    void on_connected(std::uint64_t gen, std::error_code ec);
    void on_message(std::uint64_t gen, std::span<const char> body);
    void on_close(std::uint64_t gen, std::error_code ec);
    void on_stall(std::uint64_t gen, bool stalled);

private:
    /// Does what the last event asked for in `scratch_` and releases the lock.
    void run(std::unique_lock<std::mutex>& lock);
    /** After an admission `r` (the lock held): runs the other actions, releases the lock, and
        sends `f` if the machine said so. Returns whether it sent.
    */
    bool send_admitted(const mailbox_fsm::admission& r, frame& f,
                       std::unique_lock<std::mutex>& lock);
    /// Does what `a` asks: timers now (the lock is held), the rest after unlocking.
    void apply(fsm_actions& a, std::unique_lock<std::mutex>& lock);
    void make_mailbox(std::uint64_t gen);
    void complete(fsm_actions& a);
    void on_call_timer(std::uint64_t seq);
    void on_connect_timer(std::uint64_t seq);
    std::size_t link_bytes() const noexcept { return box_ ? box_->queued_bytes() : 0; }
    template <class Handler>
    void post_error(Handler&& h, std::error_code ec);

    std::shared_ptr<station_shared> shared_;
    const server_info info_;
    const mailbox_factory factory_;
    const std::shared_ptr<const wire_protocol> protocol_;

    mutable std::mutex mu_;
    /// Callers sending on a mail box they found under the lock, by plain pointer: a mail box
    /// the fsm closed is kept (in `retired_`) until none is left, so the hot path copies no
    /// shared_ptr (whose count the transport's I/O thread keeps touching).
    std::atomic<std::uint32_t> senders_{0};
    std::atomic<std::size_t> in_flight_{0}; // see in_flight()
    std::atomic<bool> down_{false};         // see down()
    mailbox_fsm fsm_;
    /// Where the fsm writes its actions, reused: the usual event leaves it untouched (no
    /// construction or destruction per call); anything more is moved out under the lock.
    fsm_actions scratch_;
    std::shared_ptr<mailbox> box_; // of generation fsm_.generation()
    std::vector<std::shared_ptr<mailbox>> retired_;
    /// Set while the server drains after leaving the table (no snapshot holds it then).
    std::shared_ptr<server_slot> keep_alive_;

    asio::steady_timer call_timer_;
    std::uint64_t call_timer_seq_ = 0;
    asio::steady_timer connect_timer_;
    std::uint64_t connect_timer_seq_ = 0;
};

} // namespace mailroom::detail
