#pragma once

#include <mailroom/protocol/message.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::redis::crawlab {

/** One message of Crawlab's Redis RPC (docs/redis-transport.md, "Crawlab mode"): the JSON
    object `{"id","method","node_id","params":{string:string},"timeout":seconds,"result",
    "error"}`. A request leaves `result` and `error` empty; its reply is the same message with
    one of them filled.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct message {
    /// The message id; the reply goes to `<prefix>:<node_id>:<id>`.
    std::string id{};
    /// The method to run (see @ref to_path for how it names a mailroom remote).
    std::string method{};
    /// The node the request is for.
    std::string node_id{};
    /// The single argument.
    std::map<std::string, std::string> params{};
    /// How long the caller waits, in whole seconds; 0: not given.
    std::int64_t timeout = 0;
    /// The method's result (a reply).
    std::string result{};
    /// Non-empty: the call failed with this text (a reply).
    std::string error{};
};

/// The longest `timeout` read, in seconds (larger values read as this): about 136 years.
inline constexpr std::int64_t max_timeout = std::int64_t{1} << 32;

/// The message as Crawlab writes it: every field present, `params` an object of strings.
std::string encode(const message& m);

/** Reads a message. Returns empty on success, else what is wrong with it; `out.id` is set
    whenever the id could be read, so that a malformed request can still be answered.
    Never throws. Missing `params`, `timeout`, `result` and `error` read as empty; a
    fractional `timeout` is truncated, a negative one reads as 0.
*/
std::string decode(std::string_view text, message& out) noexcept;

/// The list a node takes its requests from: `<prefix>:<node>`.
std::string request_list(std::string_view prefix, std::string_view node);

/// The list one request's reply is pushed onto: `<prefix>:<node>:<id>`.
std::string reply_key(std::string_view prefix, std::string_view node, std::string_view id);

/** How a Crawlab `method` names a mailroom remote: `"m"` is `user.<default_service>.m`,
    `"s.m"` is `user.s.m`, `"ns.s.m"` is `ns.s.m`. Nothing for an empty name, an empty part or
    more than three parts. The views point into `method` and `default_service`.
*/
std::optional<protocol::method_path> to_path(std::string_view method,
                                             std::string_view default_service);

/// The inverse of @ref to_path: the Crawlab `method` that names `path`.
std::string to_method(const protocol::method_path& path, std::string_view default_service);

/// A fresh random message id: a version 4 UUID in its text form, as Crawlab makes them.
std::string make_message_id();

} // namespace mailroom::redis::crawlab
