#include <mailroom/error.hpp>
#include <mailroom/server/responder.hpp>

#include <exception>
#include <string>

namespace mailroom {
namespace {

/// Whether `e` describes the handler's own outgoing calls (its link to a third server) rather
/// than this call: such a code, passed on as is, would tell our caller that *its* link
/// dropped or that *its* call was never sent.
bool describes_a_downstream_call(error e) noexcept
{
    switch (e) {
    case error::no_target_server:
    case error::connect_failed:
    case error::timeout:
    case error::disconnected:
    case error::queue_full:
    case error::frame_too_large:
    case error::protocol_error:
    case error::version_mismatch:
    case error::cancelled:
    case error::unknown_transport:
    case error::unknown_server:
    case error::bad_result:
    case error::keepalive_timeout:
    case error::not_sent:
    case error::wrong_server:
    case error::not_encodable:
    case error::handshake_timeout:
    case error::auth_failed:
    case error::auth_required:
    case error::auth_unavailable:
        return true;
    case error::server_busy:
    case error::unknown_service:
    case error::unknown_method:
    case error::bad_arguments:
    case error::remote_error:
    case error::deadline_exceeded:
    case error::shutting_down:
        return false;
    }
    return true;
}

} // namespace

void responder::send()
{
    if (!owed())
        return;
    frame f;
    if (detail::encode_noexcept([&] { return protocol_->encode_response(f, id_, nullptr); }))
        return fail(error::remote_error, "the protocol cannot encode an empty result");
    finish(std::move(f), {});
}

void responder::send_value(const value_source& result)
{
    frame f;
    // The handler ran: the caller learns that its result could not travel (not_encodable
    // would tell it the call was never sent).
    if (detail::encode_noexcept([&] { return protocol_->encode_response(f, id_, &result); }))
        return fail(error::remote_error, "the result has no form in the format of the " +
                                             std::string(protocol_->name()) + " protocol");
    finish(std::move(f), {});
}

void responder::fail(std::error_code ec, std::string_view message)
{
    if (!owed())
        return;
    if (!ec)
        ec = error::remote_error;
    std::string text(message.empty() ? ec.message() : message);
    // Only mailroom's numbers mean something to the caller; anything else travels as
    // remote_error with its own message.
    if (ec.category() != error_category()) {
        if (message.empty())
            text = std::string(ec.category().name()) + ": " + ec.message();
        ec = error::remote_error;
    } else if (describes_a_downstream_call(static_cast<error>(ec.value()))) {
        text = "downstream call failed: " + text;
        ec = error::remote_error;
    }
    frame f;
    if (!encode_error(f, ec, text))
        return abandon(ec);
    finish(std::move(f), ec);
}

bool responder::encode_error(frame& f, std::error_code ec, std::string_view text) noexcept
{
    // The message may have no form in the protocol's format (a strict JSON writer and a
    // message that is not UTF-8): the code still goes, with a message that has one.
    for (std::string_view m : {text, std::string_view("the error message could not be encoded")}) {
        try {
            f.clear();
            protocol_->encode_error_response(f, id_, ec, m);
            return true;
        } catch (...) {
        }
    }
    return false;
}

// Inlined into finish (the path of every answer) and abandon, its only callers.
[[gnu::always_inline]] inline void responder::count(std::error_code ec) noexcept
{
    auto* s = std::exchange(stats_, nullptr);
    if (!s)
        return;
    // The caller's name only where it is kept: a failure, or a slow call.
    const auto peer = [this] { return observer_ ? observer_->peer() : std::string_view(); };
    const auto timed = metrics::finish_call(*s, start_, ec, ec ? peer() : std::string_view());
    if (const auto took = s->slow(began_, timed); took.count() != 0) [[unlikely]]
        s->report_slow(took, trace_, peer(), ec);
}

void responder::abandon(std::error_code ec) noexcept
{
    count(ec);
    // Nothing could be encoded (out of memory): the caller will see its timeout.
    conn_.reset();
    const auto id = std::exchange(id_, 0);
    if (auto o = std::move(observer_))
        o->answered(id, ec);
}

void responder::finish(frame f, std::error_code ec)
{
    if (f.body_size() > max_frame_size_) {
        // The caller would close the link on it; it gets a named error instead.
        ec = error::frame_too_large;
        if (!encode_error(f, ec, "the result is larger than the maximum frame size"))
            return abandon(ec);
    }
    // Counted before it leaves: a caller that has its answer finds it counted.
    count(ec);
    conn_->send(std::move(f));
    conn_.reset();
    const auto id = std::exchange(id_, 0);
    if (auto o = std::move(observer_))
        o->answered(id, ec);
}

void responder::drop() noexcept
{
    if (!owed())
        return;
    try {
        fail(error::remote_error, std::uncaught_exceptions() > 0
                                      ? "the handler threw before answering"
                                      : "the handler dropped the call without answering");
    } catch (...) {
        abandon(error::remote_error); // out of memory: the caller will see its timeout
    }
}

} // namespace mailroom
