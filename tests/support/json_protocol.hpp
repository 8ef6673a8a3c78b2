#pragma once

#include <mailroom/protocol/wire_protocol.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::test {

/** A protocol with JSON bodies and neither a handshake nor pings, shaped like pomelo-rpc's
    (`{"id","msg":{"namespace","serverType","service","method","args"}}` and
    `{"id","resp":[err, result]}`): the proof that a wire other than the native one plugs in
    at the seam, values and all, without native frames.

    Errors travel as `{"code": n, "message": "..."}` in the `err` slot. It records every body
    it decodes, so a test can see what crossed the link.
*/
class json_protocol final : public wire_protocol {
public:
    std::string_view name() const noexcept override { return "json"; }
    value_format format() const noexcept override { return value_format::json; }

    std::error_code encode_request(frame& out, std::uint64_t id,
                                   const protocol::method_path& path, const value_source& args,
                                   std::uint32_t timeout_ms) const override;
    std::error_code encode_notify(frame& out, const protocol::method_path& path,
                                  const value_source& args) const override;
    std::error_code encode_response(frame& out, std::uint64_t id,
                                    const value_source* result) const override;
    void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                               std::string_view message) const override;
    std::error_code decode(std::span<const char> body, msgpack::zone& zone,
                           protocol::message& out) const noexcept override;

    /// Every body decoded so far, in order.
    std::vector<std::string> decoded() const;

private:
    mutable std::mutex mu_;
    mutable std::vector<std::string> decoded_;
};

} // namespace mailroom::test
