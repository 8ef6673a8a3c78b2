// JSON arguments checked and converted against a method's declared signature, and results
// turned back into JSON: what `mailroom call` and `mailroom bench` send and print.

#pragma once

#include "signature.hpp"

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace mailroom::cli {

/** Arguments converted once and sent in either format: msgpack for the native protocol, JSON
    for a JSON protocol (pomelo-rpc's). Both forms come from one conversion, so a map with
    integer keys travels with integer keys in msgpack.
*/
class converted_args {
public:
    converted_args() = default;
    converted_args(msgpack::object_handle mp, nlohmann::json js)
        : mp_(std::make_shared<msgpack::object_handle>(std::move(mp))), js_(std::move(js))
    {
    }

    const nlohmann::json& json() const noexcept { return js_; }
    const msgpack::object& msgpack() const noexcept { return mp_->get(); }

    // msgpack's intrusive adaptor: how the proxy packs it (an array of the arguments).
    template <class Packer>
    void msgpack_pack(Packer& pk) const
    {
        pk.pack(mp_->get());
    }
    void msgpack_unpack(const msgpack::object&) {}

    friend void to_json(nlohmann::json& j, const converted_args& a) { j = a.js_; }
    friend void from_json(const nlohmann::json& j, converted_args& a) { a.js_ = j; }

private:
    std::shared_ptr<msgpack::object_handle> mp_ = std::make_shared<msgpack::object_handle>();
    nlohmann::json js_ = nlohmann::json::array();
};

/** Checks `args` (a JSON array) against `sig` and converts it: the argument count, each
    type (integers within their type's range, floats, booleans, strings, containers of them,
    optionals as null or a value), and passes values of types it does not know (user
    structs: a JSON object becomes a msgpack map) as they are. Returns an empty string and
    fills `out` on success, else what is wrong ("argument 2 (count): expected an integer
    (int), got \"x\"").
*/
std::string convert_args(const signature& sig, const nlohmann::json& args, converted_args& out);

/// `args` (a JSON array) as it is, for a method without a declared signature.
converted_args pass_through(const nlohmann::json& args);

/// A received msgpack value as JSON (maps with non-string keys get their keys as text; bin
/// becomes an array of byte values).
nlohmann::json to_json(const msgpack::object& o);

} // namespace mailroom::cli
