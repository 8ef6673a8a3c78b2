#include <mailroom/error.hpp>
#include <mailroom/server/responder.hpp>

namespace mailroom {

void responder::send()
{
    if (!owed())
        return;
    frame f;
    protocol::encode_void_response(f, id_);
    finish(std::move(f));
}

void responder::fail(std::error_code ec, std::string_view message)
{
    if (!owed())
        return;
    if (!ec)
        ec = error::remote_error;
    frame f;
    protocol::encode_error_response(f, id_, ec, message.empty() ? ec.message() : message);
    finish(std::move(f));
}

void responder::finish(frame f)
{
    conn_->send(std::move(f));
    conn_.reset();
    id_ = 0;
}

void responder::drop() noexcept
{
    if (!owed())
        return;
    try {
        fail(error::remote_error, "the handler dropped the call without answering");
    } catch (...) {
        // Out of memory while encoding: the caller will see its timeout instead.
    }
}

} // namespace mailroom
