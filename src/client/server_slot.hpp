#pragma once

#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/client/detail/pending_calls.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/mailbox.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace mailroom::detail {

/// Counters of a station (see mail_station::stats).
struct station_counters {
    std::atomic<std::uint64_t> queue_full{0}, timeouts{0}, disconnected{0}, connect_failed{0},
        cancelled{0}, late_replies{0};

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

/** The station's state for one remote server: its mail box, its calls and its timers.

    Lifecycle: idle -> connecting -> handshaking -> open -> (link lost) idle -> ...;
    closed is final (server removed or station closed). While connecting, refused connects
    are retried with doubling delays until the connect timeout. Every mail box gets a new
    generation number, so events from a mail box the slot already gave up on are ignored.

    A call is in exactly one place: in `pending_` (sent or queued; its frame may also sit in
    `queue_`), or completed. Handlers are collected under the lock and run after it.
*/
class server_slot : public std::enable_shared_from_this<server_slot> {
public:
    using clock = std::chrono::steady_clock;

    server_slot(std::shared_ptr<station_shared> shared, server_info info, mailbox_factory factory);

    /// A call that waits until `deadline`, `timeout` from now: sent at once (telling the
    /// callee `timeout`) if the link is open, else queued.
    void call(std::uint64_t id, frame&& f, clock::time_point deadline,
              std::chrono::milliseconds timeout, call_handler handler,
              cancellation* cancel = nullptr);

    /// Completes call `id` with operation_canceled if it is still pending.
    void cancel(std::uint64_t id);
    void notify(frame f, status_handler handler);

    /// Final close: everything pending completes with `reason`, later calls too.
    void shutdown(std::error_code reason);

    std::size_t pending() const;
    const server_info& info() const noexcept { return info_; }

    // Events from the mail box of generation `gen`.
    void on_connected(std::uint64_t gen, std::error_code ec);
    void on_message(std::uint64_t gen, std::span<const char> body);
    void on_close(std::uint64_t gen, std::error_code ec);

private:
    enum class state { idle, connecting, handshaking, open, closed };

    struct queued {
        frame f;
        std::uint64_t id; // 0 for a notify
        status_handler notify_handler;
        clock::time_point deadline;
    };

    /// Handlers to run once the lock is released.
    struct completions {
        station_counters* counters;
        std::vector<std::pair<call_handler, std::error_code>> calls;
        std::vector<std::pair<status_handler, std::error_code>> statuses;
        void run();
    };

    void start_cycle_locked();
    void attempt_locked();
    void retry_or_fail_locked(std::error_code ec, completions& done);
    void fail_cycle_locked(std::error_code ec, completions& done);
    void drop_mailbox_locked();
    void fail_all_locked(std::error_code ec, completions& done);
    void open_locked(completions& done);
    void arm_call_timer_locked();
    void arm_connect_timer_locked(clock::time_point at);
    void on_call_timer(std::uint64_t seq);
    void on_connect_timer(std::uint64_t seq);
    void post_error(call_handler h, std::error_code ec);
    /// Sends a request, telling the callee it has `timeout` left (clamped to 1 ms ... 2^32-1).
    void send_request_locked(frame&& f, std::chrono::milliseconds timeout);

    std::shared_ptr<station_shared> shared_;
    const server_info info_;
    const mailbox_factory factory_;

    mutable std::mutex mu_;
    state state_ = state::idle;
    std::error_code closed_reason_;
    std::shared_ptr<mailbox> mailbox_;
    std::uint64_t gen_ = 0;
    pending_calls<call_handler> pending_;
    std::deque<queued> queue_;
    std::size_t queued_notifies_ = 0;

    asio::steady_timer call_timer_;
    bool call_timer_armed_ = false;
    clock::time_point call_timer_at_{};
    std::uint64_t call_timer_seq_ = 0;

    asio::steady_timer connect_timer_;
    std::uint64_t connect_timer_seq_ = 0;
    clock::time_point connect_deadline_{};
    std::chrono::milliseconds backoff_{};
    bool waiting_retry_ = false;
    std::error_code last_connect_error_;
};

} // namespace mailroom::detail
