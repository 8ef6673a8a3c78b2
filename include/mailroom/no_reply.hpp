#pragma once

namespace mailroom {

/** The result type of a notify method in a remote contract: the caller sends the call and
    gets no response (the stub completes with `void(std::error_code)` once the frame is handed
    to a connected mail box).

    @code
    MAILROOM_REMOTE(chat_remote, chatRemote, (kick, mailroom::no_reply(std::string uid)));
    @endcode
*/
struct no_reply {};

} // namespace mailroom
