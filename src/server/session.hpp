#pragma once

#include "server_state.hpp"

#include <mailroom/server/acceptor.hpp>

#include <memory>
#include <string>

namespace mailroom::detail {

/** The core's side of one accepted connection: handshake, then requests to the dispatcher.

    States: awaiting hello -> ready. Anything but a hello first, an unsupported version, or a
    malformed frame closes this connection only.
*/
class session final : public connection_handler {
public:
    session(std::weak_ptr<server_state> state, std::shared_ptr<connection> conn);
    ~session() override;

    void on_message(std::span<const char> body) override;
    void on_close(std::error_code ec) override;

    /// Closes the connection (server stop).
    void close() { conn_->close(); }

private:
    void reject(std::string_view why);

    std::weak_ptr<server_state> state_;
    std::shared_ptr<connection> conn_;
    std::string peer_id_;
    bool ready_ = false;
    bool closed_ = false;
};

} // namespace mailroom::detail
