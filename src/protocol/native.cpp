#include <mailroom/error.hpp>
#include <mailroom/protocol/codec.hpp>
#include <mailroom/protocol/wire_protocol.hpp>

namespace mailroom {
namespace {

/// The native protocol over the codec of protocol/codec.hpp (docs/protocol.md).
class native final : public wire_protocol {
public:
    std::string_view name() const noexcept override { return "mailroom"; }
    value_format format() const noexcept override { return value_format::msgpack; }

    std::error_code encode_request(frame& out, std::uint64_t id,
                                   const protocol::method_path& path, const value_source& args,
                                   std::uint32_t timeout_ms) const override
    {
        protocol::detail::begin_request(out, id, path, timeout_ms != 0);
        if (auto ec = args.pack(out))
            return ec;
        protocol::detail::end_request(out, timeout_ms);
        return {};
    }

    std::error_code encode_traced_request(frame& out, std::uint64_t id,
                                          const protocol::method_path& path,
                                          const value_source& args, std::uint32_t timeout_ms,
                                          const trace_context& trace) const override
    {
        if (!trace.valid())
            return encode_request(out, id, path, args, timeout_ms);
        protocol::detail::begin_request(out, id, path, true);
        if (auto ec = args.pack(out))
            return ec;
        protocol::detail::end_traced_request(out, timeout_ms, trace);
        return {};
    }

    std::error_code encode_traced_notify(frame& out, const protocol::method_path& path,
                                         const value_source& args,
                                         const trace_context& trace) const override
    {
        if (!trace.valid())
            return encode_notify(out, path, args);
        protocol::detail::begin_notify(out, path, true);
        if (auto ec = args.pack(out))
            return ec;
        protocol::detail::end_traced_notify(out, trace);
        return {};
    }

    bool patch_request_timeout(frame& request, std::uint32_t timeout_ms) const noexcept override
    {
        return protocol::patch_request_timeout(request, timeout_ms);
    }

    std::error_code encode_notify(frame& out, const protocol::method_path& path,
                                  const value_source& args) const override
    {
        protocol::detail::begin_notify(out, path);
        return args.pack(out);
    }

    std::error_code encode_response(frame& out, std::uint64_t id,
                                    const value_source* result) const override
    {
        if (!result) {
            protocol::encode_void_response(out, id);
            return {};
        }
        protocol::detail::begin_response(out, id);
        return result->pack(out);
    }

    void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                               std::string_view message) const override
    {
        protocol::encode_error_response(out, id, code, message);
    }

    std::error_code decode(std::span<const char> body, msgpack::zone& zone,
                           protocol::message& out) const noexcept override
    {
        return protocol::decode(body, zone, out);
    }

    bool has_handshake() const noexcept override { return true; }

    void encode_hello(frame& out, std::string_view client_id) const override
    {
        protocol::encode_hello(out, client_id);
    }

    void encode_hello_ack(frame& out, std::string_view server_id, std::error_code code,
                          std::string_view message) const override
    {
        protocol::encode_hello_ack(out, server_id, code, message);
    }

    std::uint32_t version() const noexcept override { return protocol::version; }
    std::uint32_t min_version() const noexcept override { return protocol::min_version; }
    bool has_auth() const noexcept override { return true; }

    void encode_handshake(frame& out, protocol::message_kind kind,
                          const protocol::hello_view& h) const override
    {
        protocol::encode_handshake(out, kind, h);
    }

    bool has_pings() const noexcept override { return true; }

    bool encode_ping(frame& out, std::uint64_t nonce) const override
    {
        protocol::encode_ping(out, nonce);
        return true;
    }

    void encode_pong(frame& out, std::uint64_t nonce) const override
    {
        protocol::encode_pong(out, nonce);
    }

    keepalive keepalive_of(std::span<const char> body,
                           std::uint64_t& nonce) const noexcept override
    {
        const auto kind = protocol::peek_kind(body);
        if (kind == static_cast<std::uint8_t>(protocol::message_kind::ping) &&
            protocol::decode_keepalive(body, nonce))
            return keepalive::ping;
        if (kind == static_cast<std::uint8_t>(protocol::message_kind::pong) &&
            protocol::decode_keepalive(body, nonce))
            return keepalive::pong;
        return keepalive::none;
    }
};

} // namespace

const std::shared_ptr<const wire_protocol>& native_protocol() noexcept
{
    static const std::shared_ptr<const wire_protocol> p = std::make_shared<native>();
    return p;
}

} // namespace mailroom
