#pragma once

#include <mailroom/protocol/wire_protocol.hpp>

#include <cstdint>
#include <memory>

namespace mailroom::pomelo {

/** pomelo-rpc 1.0.7's JSON messages (docs/pomelo-interop.md), as the pomelo transport's
    link hands them over: one JSON object per body, a batch already split into its elements.

    - Requests are `{"id":N,"msg":{"namespace","serverType","service","method","args":[...]}}`.
      The wire id is mailroom's request id minus one, so a mail box numbers from 0 as the stock
      client does, and a stock client's id 0 is a valid call. Every request is answered:
      pomelo-rpc has no notify. A notify is written without an id; its answer is dropped.
    - Responses are `{"id":N,"resp":[err, r1, r2, ...]}`. A falsy `err` (null, false, 0, "",
      absent) is success; one result is `r1`, several are the array `[r1, r2, ...]` (read them
      with @ref results), none is null. Errors are written as
      `{"msg": m, "stack": "Error: m", "mailroom_error": code}` so that a Node caller's
      `if (err)` sees them, `err.stack` starts as a Node error's does, and a mailroom caller
      gets the error code back. Errors read from a stock server take their message from `msg`,
      `message`, or the first line of `stack` (without "Error: "); pomelo's own
      "no such service/method" become `unknown_service`/`unknown_method`, anything else
      `remote_error`.
    - A request the server cannot make sense of (not JSON, no `msg`, names that are not
      strings) still becomes a request, for a service that does not exist, so it is answered
      with an error instead of closing a connection stock clients never notice closing. One
      without a usable id (missing, negative, not an integer) is answered without an id, as
      the stock server does.

    No handshake and no pings at this level: the MQTT link pings with PINGREQ/PINGRESP.
    Stateless: one object serves every link.

    @par Thread safety
    Every member function may be called concurrently.

    @par Example
    @code
    auto p = mailroom::pomelo::make_protocol();
    server.listen(mailroom::pomelo::make_acceptor(ex, {.port = 0}), p);
    @endcode
*/
class json_protocol final : public wire_protocol {
public:
    /// The request id of a request received without a usable id: answered without one.
    static constexpr std::uint64_t no_id = ~std::uint64_t{0};

    std::string_view name() const noexcept override { return "pomelo"; }
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
};

/// The shared @ref json_protocol. Never null.
const std::shared_ptr<const wire_protocol>& make_protocol();

} // namespace mailroom::pomelo
