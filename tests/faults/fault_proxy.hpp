#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mailroom::test {

/** A loopback TCP proxy between a mail box and a server that injects faults into the link.

    It listens on 127.0.0.1, port 0, and forwards each accepted connection to
    127.0.0.1:`upstream_port`, both ways. It runs on its own I/O thread. It understands the
    native framing (a 4-byte big-endian length, then a msgpack body) as far as it needs to
    find the next response or request frame.

    Persistent modes (until the next call to @ref pass, @ref drop or @ref delay):
    - pass: bytes go through unchanged;
    - drop: a blackhole, bytes read in either direction are discarded; connections stay open
      and new ones are accepted (and connected upstream), so no peer sees a close;
    - delay: every read is forwarded `d` later (one read at a time per direction, in order).

    One-shot faults, on the next response frame from the server (pings and pongs pass), or
    the next request frame from the client (the `_request` variants):
    - truncate: forwards that frame's prefix and first two body bytes, then closes both
      sockets of that connection (a FIN, mid-frame);
    - corrupt: replaces the frame's kind byte (body byte 1, 0x03) with 0xc1, a byte msgpack
      never uses, and forwards the rest unchanged;
    - length (on the next frame of any kind): adds 65,536 to its length prefix, so the frame
      swallows everything the server sends after it.

    And at once: @ref reset closes every open connection with an RST on both sides
    (SO_LINGER 0).

    @par Thread safety
    Every member function may be called from any thread.
*/
class fault_proxy
{
public:
    explicit fault_proxy(std::uint16_t upstream_port);
    /// Closes every connection and the listener, then joins the I/O thread.
    ~fault_proxy();

    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    /// Where clients connect.
    std::uint16_t port() const { return port_; }

    void pass();
    void drop();
    void delay(std::chrono::milliseconds d);
    void truncate_next_response();
    void corrupt_next_response();
    /// Adds 65,536 to the length prefix of the next frame from the server (any kind): the
    /// client waits for bytes that never come as part of that frame.
    void corrupt_next_length();
    /// As truncate_next_response, on the next request from the client: the server gets part
    /// of it and a FIN; the client's socket is closed.
    void truncate_next_request();
    /// As corrupt_next_response, on the next request from the client.
    void corrupt_next_request();
    /// Resets every open connection (RST to both peers); returns how many it reset.
    std::size_t reset();

    /// One-shot faults that fired so far (truncate and corrupt).
    std::uint64_t fired() const { return fired_.load(); }
    /// Connections (client and upstream pairs) that are open.
    std::size_t open_connections() const { return open_.load(); }

    enum class mode { pass, drop, delay };
    enum class shot { none, truncate, corrupt, length };

private:
    struct link;
    void accept();

    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::ip::tcp::endpoint upstream_;
    std::uint16_t port_ = 0;

    std::atomic<mode> mode_{mode::pass};
    std::atomic<std::int64_t> delay_ms_{0};
    std::atomic<shot> shot_[2]{shot::none, shot::none}; // armed: to the client, to the server
    std::atomic<std::uint64_t> fired_{0};
    std::atomic<std::size_t> open_{0};

    std::mutex mu_; // links_
    std::vector<std::weak_ptr<link>> links_;
    std::thread thread_;
};

} // namespace mailroom::test
