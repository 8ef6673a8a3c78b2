#include "session.hpp"

#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>

namespace mailroom::detail {

session::session(std::weak_ptr<server_state> state, std::shared_ptr<connection> conn)
    : state_(std::move(state)), conn_(std::move(conn))
{
}

session::~session() = default;

void session::reject(std::string_view why)
{
    if (auto st = state_.lock())
        st->options.log.log(log_level::warning, "closing connection from {}: {}",
                            conn_->remote_address(), why);
    conn_->close();
}

void session::on_message(std::span<const char> body)
{
    if (closed_)
        return;
    auto st = state_.lock();
    if (!st) {
        conn_->close();
        return;
    }
    msgpack::zone zone;
    protocol::message msg;
    if (auto ec = protocol::decode(body, zone, msg))
        return reject(ec.message());

    if (!ready_) {
        if (msg.kind != protocol::message_kind::hello)
            return reject("expected a hello first");
        frame ack;
        if (msg.hello.version != protocol::version) {
            protocol::encode_hello_ack(ack, st->options.server_id, error::version_mismatch,
                                       "server speaks protocol version " +
                                           std::to_string(protocol::version));
            conn_->send(std::move(ack));
            return reject("unsupported protocol version " + std::to_string(msg.hello.version));
        }
        peer_id_ = std::string(msg.hello.peer_id);
        ready_ = true;
        protocol::encode_hello_ack(ack, st->options.server_id);
        conn_->send(std::move(ack));
        return;
    }

    switch (msg.kind) {
    case protocol::message_kind::request:
    case protocol::message_kind::notify: {
        const auto& req = msg.request;
        call_context ctx;
        ctx.caller_id = peer_id_;
        ctx.request_id = req.id;
        ctx.path = req.path;
        ctx.executor = st->executor;
        if (req.timeout_ms)
            ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.timeout_ms);
        responder r = req.id ? responder(conn_, req.id, st->options.max_frame_size, st->in_flight)
                             : responder();
        if (st->draining)
            return r.fail(error::shutting_down);
        st->disp.dispatch(ctx, req.args, std::move(r));
        return;
    }
    case protocol::message_kind::ping: {
        frame pong;
        protocol::encode_pong(pong, msg.nonce);
        conn_->send(std::move(pong));
        return;
    }
    case protocol::message_kind::pong:
        return;
    default:
        return reject("unexpected message kind");
    }
}

void session::on_close(std::error_code)
{
    closed_ = true;
    if (auto st = state_.lock()) {
        std::lock_guard lock(st->mu);
        st->sessions.erase(this);
    }
}

} // namespace mailroom::detail
