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

namespace detail {

/// What a method declared with result `R` yields to its caller: `void` for a notify.
template <class R>
struct stub_result {
    using type = R;
};
template <>
struct stub_result<no_reply> {
    using type = void;
};

} // namespace detail

} // namespace mailroom
