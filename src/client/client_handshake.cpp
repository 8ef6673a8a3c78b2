#include "client_handshake.hpp"

#include <mailroom/error.hpp>

#include <algorithm>

namespace mailroom::detail {

frame client_handshake::hello(const ends& e)
{
    authenticating_ = !e.secret.empty() && e.protocol.has_auth();
    frame f;
    if (!authenticating_) {
        // Byte for byte the version-1 hello: servers that predate authentication accept it.
        e.protocol.encode_hello(f, e.client_id);
        return f;
    }
    client_nonce_ = make_auth_nonce();
    protocol::hello_view h;
    h.version = 2;
    h.peer_id = e.client_id;
    h.nonce = view(client_nonce_);
    e.protocol.encode_handshake(f, protocol::message_kind::hello, h);
    return f;
}

client_handshake::step client_handshake::on_challenge(const ends& e,
                                                      const protocol::hello_view& c)
{
    if (!authenticating_ || challenged_ || c.nonce.size() != auth_nonce_size)
        return {step::fail, std::nullopt, error::connect_failed, error::protocol_error, {}};
    if (!c.peer_id.empty() && c.peer_id != e.server_id)
        return {step::fail, std::nullopt, error::wrong_server, error::wrong_server,
                "answered as " + std::string(c.peer_id)};
    challenged_ = true;
    challenger_id_ = std::string(c.peer_id);
    std::copy(c.nonce.begin(), c.nonce.end(), server_nonce_.begin());
    const auto proof = auth_proof(e.secret, auth_role::client, e.client_id, challenger_id_,
                                  view(client_nonce_), view(server_nonce_));
    protocol::hello_view p;
    p.proof = view(proof);
    frame f;
    e.protocol.encode_handshake(f, protocol::message_kind::proof, p);
    return {step::wait, std::move(f), {}, {}, {}};
}

client_handshake::step client_handshake::on_message(const ends& e, std::error_code dec,
                                                    const protocol::message& msg)
{
    if (dec)
        return {step::fail, std::nullopt, error::connect_failed, error::protocol_error, {}};
    if (msg.kind == protocol::message_kind::challenge)
        return on_challenge(e, msg.hello);
    if (msg.kind != protocol::message_kind::hello_ack)
        return {step::fail, std::nullopt, error::connect_failed, error::protocol_error, {}};
    if (msg.hello.code != 0) {
        const std::error_code code(msg.hello.code, error_category());
        // A server that predates authentication refuses our version-2 hello.
        if (authenticating_ && code == error::version_mismatch)
            return {step::fail, std::nullopt, error::auth_unavailable, error::auth_unavailable,
                    "does not support authentication (it refused protocol version 2)"};
        return {step::fail, std::nullopt, code, code, {}};
    }
    if (!msg.hello.peer_id.empty() && msg.hello.peer_id != e.server_id)
        // The address now belongs to another server (a restart moved ids around): never
        // deliver calls for one server to another.
        return {step::fail, std::nullopt, error::wrong_server, error::wrong_server,
                "answered as " + std::string(msg.hello.peer_id)};
    if (e.epoch != 0 && msg.hello.epoch != 0 && msg.hello.epoch != e.epoch)
        // Another incarnation of the server: our table is behind (or the process is a
        // stale one). Its link must not carry calls meant for the one we know.
        return {step::fail, std::nullopt, error::wrong_server, error::wrong_server,
                "answered as incarnation " + std::to_string(msg.hello.epoch) + ", expected " +
                    std::to_string(e.epoch)};
    if (!authenticating_)
        return {step::open, std::nullopt, {}, {}, {}};
    if (!challenged_)
        return {step::fail, std::nullopt, error::auth_unavailable, error::auth_unavailable,
                "accepted the link without authenticating (it has no cluster secret)"};
    const auto expected = auth_proof(e.secret, auth_role::server, e.client_id, challenger_id_,
                                     view(client_nonce_), view(server_nonce_));
    if (!auth_proof_matches(expected, msg.hello.proof))
        return {step::fail, std::nullopt, error::auth_failed, error::auth_failed,
                "did not prove the cluster secret (it is not a server of this cluster)"};
    return {step::open, std::nullopt, {}, {}, {}};
}

} // namespace mailroom::detail
