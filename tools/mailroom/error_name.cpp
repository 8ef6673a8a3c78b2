#include "error_name.hpp"

#include <mailroom/error.hpp>

#include <array>
#include <string_view>

namespace mailroom::cli {

std::string error_name(std::error_code ec)
{
    // In enum order, from 1 (error.hpp: values are append-only, so this table only grows).
    static constexpr std::array<std::string_view, 27> names{
        "no_target_server", "connect_failed",   "timeout",           "disconnected",
        "server_busy",      "queue_full",       "unknown_service",   "unknown_method",
        "bad_arguments",    "remote_error",     "frame_too_large",   "protocol_error",
        "version_mismatch", "cancelled",        "unknown_transport", "unknown_server",
        "bad_result",       "keepalive_timeout", "deadline_exceeded", "shutting_down",
        "not_sent",         "wrong_server",     "not_encodable",     "handshake_timeout",
        "auth_failed",      "auth_required",    "auth_unavailable"};
    if (ec.category() == mailroom::error_category() && ec.value() >= 1 &&
        static_cast<std::size_t>(ec.value()) <= names.size())
        return std::string(names[static_cast<std::size_t>(ec.value()) - 1]);
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

} // namespace mailroom::cli
