#include "session.hpp"

#include "../protocol/scratch_zone.hpp"

#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/detail/same_name.hpp>
#include <mailroom/detail/to_std_error.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/error.hpp>

namespace mailroom::detail {
namespace {

/// How loudly a connection's close is logged: quietly when either end closed it as usual,
/// as a warning when it broke the protocol or stopped reading its answers.
log_level close_level(std::error_code ec)
{
    if (!ec || ec == std::errc::operation_canceled || ec == error::cancelled ||
        ec == to_std_error(asio::error::eof))
        return log_level::debug;
    // An authentication refusal was logged as one (rate-limited) when it was decided.
    if (ec == error::auth_failed || ec == error::auth_required || ec == error::auth_unavailable)
        return log_level::debug;
    // frame_too_large, protocol_error, and the transports' own protocol errors.
    if (ec == condition::failed || ec == error::queue_full)
        return log_level::warning;
    return log_level::info; // reset by the peer, keepalive timeout, ...
}

} // namespace

void server_state::count(std::error_code ec) noexcept
{
    if (ec == error::server_busy)
        ++counters.busy;
    else if (ec == error::deadline_exceeded)
        ++counters.deadline_exceeded;
    else if (ec == error::shutting_down)
        ++counters.shutting_down;
    else if (ec == error::remote_error)
        ++counters.remote_errors;
}

session::session(std::shared_ptr<server_state> state, std::shared_ptr<connection> conn,
                 std::shared_ptr<const wire_protocol> protocol)
    : state_(std::move(state)), conn_(std::move(conn)), protocol_(std::move(protocol)),
      ready_(!protocol_->has_handshake())
{
}

void session::warn(std::string_view line_format, std::string_view why)
{
    warn(state_->warnings, line_format, why);
}

void session::warn(log_limiter& limiter, std::string_view line_format, std::string_view why)
{
    const auto& log = state_->options.log;
    if (!log.enabled(log_level::warning))
        return;
    const auto address = conn_->remote_address();
    std::uint64_t suppressed = 0;
    // One attack run wrote 1,140 such lines: a peer gets its share per interval.
    if (!limiter.admit(peer_host(address), log_limiter::clock::now(), suppressed))
        return;
    auto line = fmt::format(fmt::runtime(line_format), address, why);
    if (suppressed)
        line += fmt::format(" ({} similar lines from {} suppressed)", suppressed,
                            peer_host(address));
    log.log(log_level::warning, "{}", line);
}

void session::reject(std::error_code ec, std::string_view why)
{
    ++state_->counters.protocol_errors;
    warn("closing connection from {}: {}", why);
    conn_->close(ec);
}

handshake_limits session::limits_before_handshake() const
{
    if (!protocol_->has_handshake())
        return {}; // nothing to wait for
    return {.timeout = state_->options.handshake_timeout,
            .max_frame_size = state_->options.max_frame_size_before_handshake};
}

call_context make_context(session& s, const protocol::request_view& req,
                          std::chrono::steady_clock::time_point now)
{
    call_context ctx;
    ctx.caller_id = s.peer_id();
    ctx.request_id = req.id;
    ctx.path = req.path;
    ctx.executor = s.state().executor;
    if (req.timeout_ms)
        ctx.deadline = now + std::chrono::milliseconds(req.timeout_ms);
    // A caller that sent no trace (an older peer, a wire without one): this call starts one.
    ctx.trace = req.trace.valid() ? req.trace : trace_context::make_root();
    return ctx;
}

void session::answered(std::uint64_t, std::error_code ec) noexcept
{
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (ec)
        state_->count(ec);
}

void session::on_message(std::span<const char> body)
{
    if (closed_)
        return;
    try {
        protocol::detail::scratch_zone zone;
        protocol::message msg;
        msg.max_decode_ratio = state_->options.max_decode_ratio;
        if (auto ec = protocol_->decode(body, zone.get(), msg)) {
            if (ec == error::frame_too_large && ready_ &&
                (msg.kind == protocol::message_kind::request ||
                 msg.kind == protocol::message_kind::notify))
                return refuse_oversized(msg.request);
            return reject(ec, ec.message());
        }
        if (!ready_)
            return handle_handshake(msg);
        switch (msg.kind) {
        case protocol::message_kind::request:
        case protocol::message_kind::notify:
            return handle_call(body, msg.request);
        case protocol::message_kind::ping: { // links usually answer pings themselves
            frame pong;
            protocol_->encode_pong(pong, msg.nonce);
            conn_->send(std::move(pong));
            return;
        }
        case protocol::message_kind::pong:
            return;
        default:
            return reject(error::protocol_error, "unexpected message kind");
        }
    } catch (const std::exception& e) {
        // Out of memory and the like: this connection goes, the I/O loop stays.
        reject(std::make_error_code(std::errc::not_enough_memory), e.what()); // not the peer's fault
    }
}

void session::refuse_oversized(const protocol::request_view& req)
{
    // The frame is well framed; only its arguments would take too much memory decoded. The
    // request alone is refused, the connection and its other calls go on.
    const auto why = fmt::format("the arguments would take more than {} bytes per byte of the "
                                 "request once decoded (server_options::max_decode_ratio)",
                                 state_->options.max_decode_ratio);
    if (req.id == 0)
        return warn("dropped a notify from {}: {}", why);
    // Answered here, not through a responder: this is the server's own refusal, not a
    // handler's downstream call that failed.
    frame f;
    protocol_->encode_error_response(f, req.id, error::frame_too_large, why);
    conn_->send(std::move(f));
    state_->count(error::frame_too_large);
}

void session::handle_handshake(const protocol::message& msg)
{
    if (!handshake_)
        handshake_ = std::make_unique<server_handshake>(*protocol_, state_->options.auth,
                                                        state_->options.server_id,
                                                        state_->epoch.load());
    auto step = handshake_->on_message(msg);
    switch (step.what) {
    case server_handshake::step::wait:
        break;
    case server_handshake::step::accept:
        peer_id_ = handshake_->peer_id();
        handshake_.reset();
        ready_ = true;
        conn_->handshake_done();
        break;
    case server_handshake::step::refuse:
        if (step.reply)
            conn_->send(std::move(*step.reply));
        if (!step.auth)
            return reject(step.ec, step.why);
        // Counted per attempt, logged once per address and interval: a client retrying a
        // wrong secret must not flood the log (issue 16).
        ++state_->counters.auth_refused;
        warn(state_->auth_warnings, "connection from {} {}", step.why);
        return conn_->close(step.ec);
    }
    if (step.reply)
        conn_->send(std::move(*step.reply));
}

std::error_code session::admit(const protocol::request_view& req)
{
    if (state_->draining)
        return error::shutting_down;
    if (req.id && in_flight_.load(std::memory_order_relaxed) > state_->options.max_in_flight_per_connection)
        return error::server_busy;
    return {};
}

responder session::make_responder(std::uint64_t id, std::shared_ptr<response_observer> observer)
{
    if (!id)
        return {};
    // Counted from here until answered (answered() undoes it).
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    state_->in_flight.fetch_add(1, std::memory_order_relaxed);
    // The observer (this session, or a filtered call holding it) keeps the protocol alive.
    return responder(conn_, id, state_->options.max_frame_size, std::move(observer),
                     protocol_.get());
}

dispatcher::found_method session::lookup(const protocol::method_path& path)
{
    return state_->disp.lookup(path, lookups_);
}

metrics::call_stats* session::series_of(const protocol::request_view& req,
                                        const dispatcher::found_method& m,
                                        metrics::registry& reg)
{
    // Only methods the dispatcher knows get a series of their own.
    auto* stats = reg.server_method(req.path, m.handler != nullptr);
    if (m.series)
        *m.series = stats;
    return stats;
}

void session::handle_call(std::span<const char> body, const protocol::request_view& req)
{
    if (!state_->filters.empty()) {
        auto filters = state_->filters.snapshot();
        if (!filters->for_type(req.path.server_type).empty())
            return dispatch_filtered(shared_from_this(), std::move(filters), body, req);
    }
    responder r = make_responder(req.id, shared_from_this());
    const auto now = deadline_clock::now();
    const auto ctx = make_context(*this, req, now);
    const auto method = lookup(req.path);
    std::chrono::steady_clock::time_point start;
    auto* stats = meter(req, method, r, start, now, ctx.trace);
    if (auto ec = admit(req)) {
        if (stats && !req.id)
            metrics::finish_call(*stats, start, ec, peer_id_);
        return r.fail(ec);
    }
    state_->disp.dispatch(ctx, req.args, std::move(r), now, method);
    if (stats && !req.id) // a notify has no answer: it counts once dispatched
        metrics::finish_call(*stats, start, {}, peer_id_);
}

void session::on_close(std::error_code ec)
{
    closed_ = true;
    const auto& log = state_->options.log;
    if (const auto level = close_level(ec); level == log_level::warning)
        warn("connection from {} closed: {}", ec.message());
    else if (log.enabled(level))
        log.log(level, "connection from {} closed: {}", conn_->remote_address(), ec.message());
    if (ec == error::queue_full) // the client stopped reading our answers
        ++state_->counters.write_overflows;
    std::lock_guard lock(state_->mu);
    state_->sessions.erase(this);
}

} // namespace mailroom::detail
