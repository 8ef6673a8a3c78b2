#pragma once

#include <mailroom/client/mailbox.hpp>
#include <mailroom/protocol/codec.hpp>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::test {

/** A mail box the test drives by hand: it records what the station does to it, and the
    test completes its connect and feeds it messages, as the I/O thread would.
*/
class fake_mailbox : public mailbox {
public:
    explicit fake_mailbox(const mailbox_context& ctx) : handler_(ctx.handler), server_(ctx.server) {}

    void async_connect(connect_handler h) override { connect_ = std::move(h); }
    void send(frame f) override;
    void close() override { closed_ = true; }
    std::size_t queued_bytes() const noexcept override { return queued_bytes_; }

    // --- driven by the test ---
    bool connect_started() const { return static_cast<bool>(connect_); }
    /// Completes the pending async_connect with `ec`.
    void finish_connect(std::error_code ec = {});
    /// Answers the station's hello (defaults: accepted, as the expected server).
    void ack_hello(std::error_code ec = {}, std::string peer_id = "\x01");
    /// Connects and acks the hello.
    void open();
    /// Delivers a response to request `id` carrying `result`.
    template <class T>
    void respond(std::uint64_t id, const T& result)
    {
        frame f;
        protocol::encode_response(f, id, result);
        deliver(f);
    }
    void respond_error(std::uint64_t id, std::error_code ec, std::string_view message);
    void deliver(const frame& f) { handler_->on_message(f.body()); }
    void deliver_bytes(std::span<const char> body) { handler_->on_message(body); }
    /// The link drops (as seen from the transport).
    void drop(std::error_code ec);

    bool closed() const { return closed_; }
    /// What queued_bytes() reports from now on (a server that stopped reading).
    void set_queued_bytes(std::size_t n) { queued_bytes_ = n; }
    /// Decoded messages sent so far (hello first, once the connect finished).
    std::vector<protocol::message> sent_messages() const;
    /// Ids of the requests sent so far, in order.
    std::vector<std::uint64_t> sent_request_ids() const;
    std::size_t sent_count() const;

private:
    std::shared_ptr<mailbox_handler> handler_;
    server_info server_;
    connect_handler connect_;
    mutable std::mutex mu_;
    mutable msgpack::zone zone_; // backs the views of sent_messages()
    std::vector<std::vector<char>> sent_;
    std::atomic<bool> closed_{false};
    std::atomic<std::size_t> queued_bytes_{0};
};

/// The factory side: remembers every mail box it made, newest last.
class fake_transport {
public:
    mailbox_factory factory();
    std::shared_ptr<fake_mailbox> last() const;
    std::size_t created() const;

private:
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<fake_mailbox>> boxes_;
};

/// Runs the io_context until `pred()` holds or `limit` handlers ran (then fails the test).
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred pred, std::size_t limit = 1'000'000)
{
    ioc.restart();
    for (std::size_t i = 0; i < limit && !pred(); ++i) {
        if (ioc.stopped())
            ioc.restart();
        ioc.run_one();
    }
    return pred();
}

} // namespace mailroom::test
