#pragma once

// Private to the pomelo transport.

#include <mailroom/detail/config.hpp>
#include <mailroom/link/delivery_batch.hpp>
#include <mailroom/link/keepalive_clock.hpp>
#include <mailroom/link/write_queue.hpp>
#include <mailroom/pomelo/options.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/tcp/socket.hpp>

#include <boost/asio/basic_waitable_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace mailroom::pomelo::detail {

/** An MQTT 3.1.1 link to or from a pomelo-rpc peer over one TCP socket: the I/O shared by the
    mail box and the server connection.

    Reads MQTT packets (mqtt.hpp), answers PINGREQ, notes PINGRESP, passes each JSON message
    of a PUBLISH up (`deliver`; a batch's elements one by one), and ignores CONNECT, CONNACK
    and anything else. A DISCONNECT closes the link. Writes each frame's body as one PUBLISH
    (or, with `link_options::batch`, every body sent before the strand writes as one array),
    through a @ref mailroom::write_queue: header and payload leave in one write, and replies
    sent while a read's messages are delivered leave together after it. Never sends
    DISCONNECT or CONNACK.

    Everything but `send_body` and `close_link` runs on the socket's strand.
*/
template <class Strand>
class mqtt_link : public std::enable_shared_from_this<mqtt_link<Strand>> {
public:
    using socket_type = tcp::basic_plain_socket<Strand>;
    using clock = std::chrono::steady_clock;

    mqtt_link(socket_type socket, const link_options& options);
    virtual ~mqtt_link() = default;

    /// Thread-safe; discarded once the link is closing.
    void send_body(frame f);

    /// Thread-safe, idempotent: closes on the strand; with `flush`, after queued writes.
    void close_link(bool flush);

    std::size_t queued() const noexcept { return queue_.queued_bytes(); }

    Strand executor() { return socket_.get_executor(); }

protected:
    /// On the strand, once connected: `prefix` (a client's CONNECT) leaves first.
    void start(std::string prefix = {});

    socket_type& socket() noexcept { return socket_; }
    bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }
    bool finished() const noexcept { return finished_; }

    /// Closes on the strand with `ec`; `local` tells whether this end asked for it.
    void shutdown(std::error_code ec, bool local);

    /// One JSON message, on the strand.
    virtual void deliver(std::span<const char> body) = 0;

    /// The link closed (once), on the strand.
    virtual void closed(std::error_code ec, bool local) = 0;

    /** The peer left a keepalive ping unanswered for `keepalive_stall` (true), or answered
        at last (false), on the strand. A client's mail box tells its station.
    */
    virtual void stall_changed(bool /*stalled*/) {}

private:
    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Strand>;
    /// Under mu_: queues raw bytes; returns whether a write must start.
    bool append_locked(std::span<const char> bytes, bool& overflow);
    void post_write();
    void flush_batch();
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    bool handle_packets();
    void handle_publish(std::span<const char> payload);
    void do_write();
    void arm_timer();
    void on_tick();
    /// Tells `stall_changed` if the keepalive's stall changed since it last did.
    void report_stall();

    socket_type socket_;
    Strand strand_;
    timer_type timer_;
    const link_options options_;

    std::mutex mu_; // guards queue_, batch_ and the flags below it
    write_queue queue_;
    std::string batch_;            // bodies of the next batch, "[a,b" (batch mode)
    bool batch_posted_ = false;
    bool close_after_flush_ = false;
    std::atomic<bool> closing_{false};

    // Strand only.
    std::vector<char> in_;
    std::size_t in_begin_ = 0, in_end_ = 0;
    keepalive_clock keepalive_;
    bool stall_reported_ = false;
    delivery_batch deliveries_;
    bool finished_ = false;
};

} // namespace mailroom::pomelo::detail
