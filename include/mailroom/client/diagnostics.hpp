#pragma once

#include <string>
#include <string_view>

namespace mailroom {

/** What a failed call can tell beyond its `std::error_code`: the message the remote sent with
    its error (`remote_error` carries the text of the exception the handler threw,
    `bad_arguments` names the argument that did not convert, ...).

    A typed call's completion is `(std::error_code, R)`, which has no room for text. Pass a
    `diagnostics` before the completion token, as Boost.MySQL does, and read it once the
    call completed. The call clears it when it starts and fills it before the completion
    handler runs, so the handler may read it.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe. Give each call in flight its own object,
    and keep it alive until the call completed.

    @par Example
    @code
    mailroom::diagnostics diag;
    auto [ec, n] = co_await app.rpc.chat.chatRemote.count("room-1", diag, asio::use_awaitable);
    if (ec == mailroom::error::remote_error) log(diag.remote_message());
    @endcode
*/
class diagnostics {
public:
    /// The remote's message for the call's error; empty on success and for local errors.
    const std::string& remote_message() const noexcept { return remote_message_; }

    /// Empties it (a call does this when it starts).
    void clear() noexcept { remote_message_.clear(); }

    /// Sets the remote's message (the call does this before its handler runs).
    void set_remote_message(std::string_view message) { remote_message_.assign(message); }

private:
    std::string remote_message_;
};

} // namespace mailroom
