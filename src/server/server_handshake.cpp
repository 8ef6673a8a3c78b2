#include "server_handshake.hpp"

#include <mailroom/error.hpp>

#include <algorithm>

namespace mailroom::detail {

frame server_handshake::ack(std::error_code code, std::string_view message,
                            std::string_view proof) const
{
    frame f;
    if (!protocol_.has_auth()) {
        protocol_.encode_hello_ack(f, server_id_, code, message);
        return f;
    }
    // The version the handshake ran in (the client's choice), or our newest when refusing
    // the client's version.
    protocol::hello_view h;
    h.version = version_ ? version_ : protocol_.version();
    h.peer_id = server_id_;
    h.code = code.value();
    h.message = message;
    h.proof = proof;
    h.epoch = epoch_;
    protocol_.encode_handshake(f, protocol::message_kind::hello_ack, h);
    return f;
}

server_handshake::step server_handshake::refuse(std::error_code ec, bool auth, std::string why,
                                                std::string_view told)
{
    step s{step::refuse, ack(ec, told), ec, auth, std::move(why)};
    return s;
}

server_handshake::step server_handshake::on_message(const protocol::message& msg)
{
    if (awaiting_proof_) {
        if (msg.kind != protocol::message_kind::proof)
            return {step::refuse, std::nullopt, error::protocol_error, false,
                    "expected the proof of the cluster secret"};
        return on_proof(msg.hello);
    }
    if (msg.kind != protocol::message_kind::hello)
        return {step::refuse, std::nullopt, error::protocol_error, false,
                "expected a hello first"};
    return on_hello(msg.hello);
}

server_handshake::step server_handshake::on_hello(const protocol::hello_view& h)
{
    if (h.version < protocol_.min_version() || h.version > protocol_.version()) {
        const auto v = std::to_string(protocol_.version());
        return refuse(error::version_mismatch, false,
                      "unsupported protocol version " + std::to_string(h.version),
                      "server speaks protocol version " + v);
    }
    version_ = h.version;
    peer_id_ = std::string(h.peer_id);
    if (h.nonce.empty() || !protocol_.has_auth()) {
        if (auth_.enabled() && auth_.required && protocol_.has_auth())
            return refuse(error::auth_required, true,
                          "refused: it did not authenticate (this server requires the "
                          "cluster secret)",
                          "this server requires authentication");
        return {step::accept, ack({}, {}), {}, false, {}};
    }
    if (!auth_.enabled())
        return refuse(error::auth_unavailable, true,
                      "refused: it offered authentication, but this server has no cluster "
                      "secret",
                      "this server has no cluster secret");
    if (h.nonce.size() != auth_nonce_size)
        return {step::refuse, std::nullopt, error::protocol_error, false,
                "a hello nonce of " + std::to_string(h.nonce.size()) + " bytes"};
    std::copy(h.nonce.begin(), h.nonce.end(), client_nonce_.begin());
    // A fresh nonce per connection: a proof captured on another link never verifies here.
    // The client proves first: the server gives a stranger nothing to guess the secret from.
    server_nonce_ = make_auth_nonce();
    protocol::hello_view c;
    c.peer_id = server_id_;
    c.nonce = view(server_nonce_);
    frame f;
    protocol_.encode_handshake(f, protocol::message_kind::challenge, c);
    awaiting_proof_ = true;
    return {step::wait, std::move(f), {}, false, {}};
}

server_handshake::step server_handshake::on_proof(const protocol::hello_view& h)
{
    const auto expected = auth_proof(auth_.secret, auth_role::client, peer_id_, server_id_,
                                     view(client_nonce_), view(server_nonce_));
    if (!auth_proof_matches(expected, h.proof))
        return refuse(error::auth_failed, true,
                      "refused: wrong proof of the cluster secret", "authentication failed");
    // Mutual: our own proof rides on the accepting hello_ack, and the client checks it
    // before it sends a call.
    const auto mine = auth_proof(auth_.secret, auth_role::server, peer_id_, server_id_,
                                 view(client_nonce_), view(server_nonce_));
    return {step::accept, ack({}, {}, view(mine)), {}, false, {}};
}

} // namespace mailroom::detail
