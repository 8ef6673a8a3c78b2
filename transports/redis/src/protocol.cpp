#include <mailroom/redis/protocol.hpp>

namespace mailroom::redis {

namespace {

/// The native messages; no hello (nothing to greet) and no pings (Redis is the link).
class queue_protocol final : public wire_protocol {
public:
    std::string_view name() const noexcept override { return "mailroom-redis"; }
    value_format format() const noexcept override { return native_->format(); }
    std::error_code encode_request(frame& out, std::uint64_t id, const protocol::method_path& path,
                                   const value_source& args, std::uint32_t timeout_ms) const override
    {
        return native_->encode_request(out, id, path, args, timeout_ms);
    }
    // The native frames travel whole in the queue entry: the trace with them.
    std::error_code encode_traced_request(frame& out, std::uint64_t id,
                                          const protocol::method_path& path,
                                          const value_source& args, std::uint32_t timeout_ms,
                                          const trace_context& trace) const override
    {
        return native_->encode_traced_request(out, id, path, args, timeout_ms, trace);
    }
    bool patch_request_timeout(frame& request, std::uint32_t timeout_ms) const noexcept override
    {
        return native_->patch_request_timeout(request, timeout_ms);
    }
    std::error_code encode_traced_notify(frame& out, const protocol::method_path& path,
                                         const value_source& args,
                                         const trace_context& trace) const override
    {
        return native_->encode_traced_notify(out, path, args, trace);
    }
    std::error_code encode_notify(frame& out, const protocol::method_path& path,
                                  const value_source& args) const override
    {
        return native_->encode_notify(out, path, args);
    }
    std::error_code encode_response(frame& out, std::uint64_t id,
                                    const value_source* result) const override
    {
        return native_->encode_response(out, id, result);
    }
    void encode_error_response(frame& out, std::uint64_t id, std::error_code code,
                               std::string_view message) const override
    {
        native_->encode_error_response(out, id, code, message);
    }
    std::error_code decode(std::span<const char> body, msgpack::zone& zone,
                           protocol::message& out) const noexcept override
    {
        return native_->decode(body, zone, out);
    }

private:
    std::shared_ptr<const wire_protocol> native_ = native_protocol();
};

} // namespace

const std::shared_ptr<const wire_protocol>& protocol() noexcept
{
    static const std::shared_ptr<const wire_protocol> p = std::make_shared<queue_protocol>();
    return p;
}

} // namespace mailroom::redis
