#include <mailroom/error.hpp>
#include <mailroom/server/responder.hpp>

#include <exception>
#include <string>

namespace mailroom {

void responder::send()
{
    if (!owed())
        return;
    frame f;
    protocol::encode_void_response(f, id_);
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
    }
    frame f;
    protocol::encode_error_response(f, id_, ec, text);
    finish(std::move(f), ec);
}

void responder::finish(frame f, std::error_code ec)
{
    if (f.body_size() > max_frame_size_) {
        // The caller would close the link on it; it gets a named error instead.
        f.clear();
        ec = error::frame_too_large;
        protocol::encode_error_response(f, id_, ec,
                                        "the result is larger than the maximum frame size");
    }
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
        // Out of memory while encoding: the caller will see its timeout instead.
        if (auto o = std::move(observer_))
            o->answered(std::exchange(id_, 0), error::remote_error);
    }
}

} // namespace mailroom
