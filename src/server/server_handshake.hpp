#pragma once

#include "../auth/hmac.hpp"

#include <mailroom/auth.hpp>
#include <mailroom/protocol/frame.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

#include <optional>
#include <string>
#include <system_error>

namespace mailroom::detail {

/** The server's side of a protocol's handshake, sans-I/O: hello in, hello_ack out, with the
    challenge and proof of an authenticating hello between them (docs/protocol.md, section 6).
    The session feeds it every message until it accepts or refuses, and does what it says.

    @par Thread safety
    None: one per connection, used on its executor.
*/
class server_handshake {
public:
    /// `protocol`, `auth` and `server_id` must outlive it (the server's options do).
    server_handshake(const wire_protocol& protocol, const auth_options& auth,
                     const std::string& server_id, std::uint64_t epoch = 0)
        : protocol_(protocol), auth_(auth), server_id_(server_id), epoch_(epoch)
    {
    }

    struct step {
        enum kind { wait, accept, refuse } what = wait;
        /// Send this first (a challenge, the hello_ack).
        std::optional<frame> reply;
        /// refuse: why the link closes.
        std::error_code ec;
        /// refuse: an authentication refusal (counted and logged as one) rather than a
        /// protocol error.
        bool auth = false;
        /// refuse: what to log, without the secret or anything derived from it.
        std::string why;
    };

    /// The next message the peer sent (decoded).
    step on_message(const protocol::message& msg);

    /// The client's id, from its hello.
    const std::string& peer_id() const noexcept { return peer_id_; }

private:
    step on_hello(const protocol::hello_view& h);
    step on_proof(const protocol::hello_view& h);
    frame ack(std::error_code code, std::string_view message,
              std::string_view proof = {}) const;
    step refuse(std::error_code ec, bool auth, std::string why, std::string_view told);

    const wire_protocol& protocol_;
    const auth_options& auth_;
    const std::string& server_id_;
    std::uint64_t epoch_;
    bool awaiting_proof_ = false;
    std::uint32_t version_ = 0;
    std::string peer_id_;
    auth_bytes client_nonce_{};
    auth_bytes server_nonce_{};
};

} // namespace mailroom::detail
