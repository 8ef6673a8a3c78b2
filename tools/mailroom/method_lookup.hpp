// Finding a method by name on the cluster, with its declared signature, before calling it.

#pragma once

#include "cluster_client.hpp"
#include "convert.hpp"
#include "exit_code.hpp"
#include "signature.hpp"

#include <optional>
#include <string>

namespace mailroom::cli {

/// A method found by @ref lookup_method.
struct method_target {
    std::string ns, server_type, service, method;
    /// The declared signature as listed ("" for a method bound without one).
    std::string signature_text;
    /// Parsed; empty when there is none or it could not be read (arguments pass as they are).
    std::optional<signature> sig;
    /// The server whose introspection listed it.
    std::string listed_by;

    protocol::method_path path() const { return {ns, server_type, service, method}; }
    /// "chat.chatRemote.get" ("sys.chat.health.ping" outside the user namespace).
    std::string display() const
    {
        return (ns == "user" ? "" : ns + ".") + server_type + "." + service + "." + method;
    }
};

/** Finds `name` ("type.service.method" or "ns.type.service.method") on a server of its type
    (server `to` only, when given) through `sys.introspect.methods`. On failure returns the
    exit code (`usage` for a malformed name, `not_found` otherwise) and sets `error`.
*/
exit_code lookup_method(cluster_client& c, const std::string& name,
                        const std::optional<std::string>& to, method_target& out,
                        std::string& error);

/** Parses `json_text` and converts it per the method's signature into `out`; `usage` with
    `error` set if the text is not JSON or does not match.
*/
exit_code prepare_args(const method_target& m, const std::string& json_text, converted_args& out,
                       std::string& error);

} // namespace mailroom::cli
