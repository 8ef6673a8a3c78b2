#pragma once

#include "../auth/hmac.hpp"

#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <optional>
#include <string>
#include <system_error>

namespace mailroom::detail {

/** The client's side of a protocol's handshake, sans-I/O: the hello out, then the server's
    answers in (a challenge and a hello_ack when it authenticates, the hello_ack alone
    otherwise), until the link is open or refused (docs/protocol.md, section 6). The mail box
    state machine makes one per link.

    With a secret (and a protocol that can authenticate) the hello carries a fresh nonce, the
    server's challenge is answered with our proof, and the accepting hello_ack must carry the
    server's proof: a server that does not prove the secret is refused.

    @par Thread safety
    None: owned by a mailbox_fsm.
*/
class client_handshake {
public:
    /// Who shakes hands, and how: passed to every step (the state machine's configuration
    /// holds them, and a machine may move), never kept.
    struct ends {
        const wire_protocol& protocol;
        const std::string& secret; ///< empty: the client does not authenticate
        const std::string& client_id;
        const std::string& server_id;
        /// The incarnation expected (from the registry); 0: any.
        std::uint64_t epoch = 0;
    };

    /// The hello to send as the transport connects (a fresh nonce when authenticating).
    frame hello(const ends& e);

    struct step {
        enum kind { wait, open, fail } what = wait;
        /// wait: send this (our proof).
        std::optional<frame> reply;
        /// fail: the code the queued calls complete with.
        std::error_code ec;
        /// fail: the cause to log (may differ from `ec`: a malformed answer is
        /// `protocol_error`, reported to callers as `connect_failed`).
        std::error_code cause;
        /// fail: a complaint for the error log, after "<server> at <address> " (empty: none).
        std::string complaint;
    };

    /// The next message (decoded, or `dec` the decoding error).
    step on_message(const ends& e, std::error_code dec, const protocol::message& msg);

private:
    step on_challenge(const ends& e, const protocol::hello_view& c);

    bool authenticating_ = false;
    bool challenged_ = false; // our proof left
    auth_bytes client_nonce_{};
    auth_bytes server_nonce_{};
    std::string challenger_id_; // the server id the challenge named
};

} // namespace mailroom::detail
