#include <mailroom/error.hpp>

namespace mailroom {
namespace {

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailroom"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::no_target_server: return "no target server for the call";
        case error::connect_failed: return "could not connect to the remote server";
        case error::timeout: return "the call timed out";
        case error::disconnected:
            return "the connection closed after the call was sent (outcome unknown)";
        case error::server_busy: return "the server is too busy";
        case error::queue_full: return "the pending queue is full";
        case error::unknown_service: return "unknown service";
        case error::unknown_method: return "unknown method";
        case error::bad_arguments: return "the arguments do not match the method";
        case error::remote_error: return "the remote handler failed";
        case error::frame_too_large: return "frame larger than the maximum frame size";
        case error::protocol_error: return "malformed or unexpected frame";
        case error::version_mismatch: return "incompatible protocol version";
        case error::cancelled: return "the call was cancelled";
        case error::unknown_transport: return "no transport registered under that name";
        case error::unknown_server: return "unknown server id";
        case error::bad_result: return "the result does not match the expected type";
        case error::keepalive_timeout: return "the peer stopped answering keepalive pings";
        case error::deadline_exceeded: return "the deadline passed before the call started";
        case error::shutting_down: return "the server is shutting down";
        case error::not_sent: return "the call was not sent (safe to retry)";
        case error::wrong_server: return "the server at that address has another id";
        case error::not_encodable:
            return "a value has no form in the format of the server's protocol";
        case error::handshake_timeout:
            return "the peer did not complete the handshake in time";
        case error::auth_failed:
            return "authentication failed: the peer does not know the cluster secret";
        case error::auth_required:
            return "the server requires authentication (no cluster secret configured here)";
        case error::auth_unavailable:
            return "the server does not authenticate (it has no cluster secret, or predates "
                   "authentication)";
        }
        return "unknown mailroom error " + std::to_string(ev);
    }

    std::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::no_target_server:
        case error::connect_failed:
        case error::unknown_transport:
        case error::unknown_server:
        case error::shutting_down:
        case error::not_sent:
        case error::wrong_server:
            return condition::retryable;
        case error::server_busy:
        case error::queue_full:
            return condition::overloaded;
        case error::disconnected:
        case error::keepalive_timeout:
            return condition::disconnected;
        case error::timeout:
            return condition::timed_out;
        case error::unknown_service:
        case error::unknown_method:
        case error::version_mismatch:
            return condition::unimplemented;
        case error::bad_arguments:
        case error::remote_error:
        case error::frame_too_large:
        case error::protocol_error:
        case error::cancelled:
        case error::bad_result:
        case error::deadline_exceeded:
        case error::not_encodable:
        case error::handshake_timeout:
        case error::auth_failed:
        case error::auth_required:
        case error::auth_unavailable:
            return condition::failed;
        }
        return condition::failed;
    }

    // `cancelled` is also `std::errc::operation_canceled`, so code written against Asio's
    // operation_aborted (or the code mailroom used before) keeps matching it.
    bool equivalent(int ev, const std::error_condition& cond) const noexcept override
    {
        if (ev == static_cast<int>(error::cancelled) &&
            cond == std::errc::operation_canceled)
            return true;
        if (cond == condition::permanent)
            return ev == static_cast<int>(error::version_mismatch) ||
                   ev == static_cast<int>(error::wrong_server) ||
                   ev == static_cast<int>(error::auth_failed) ||
                   ev == static_cast<int>(error::auth_required) ||
                   ev == static_cast<int>(error::auth_unavailable);
        return default_error_condition(ev) == cond;
    }
};

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailroom.condition"; }

    std::string message(int ev) const override
    {
        switch (static_cast<condition>(ev)) {
        case condition::retryable: return "the call never reached a handler and may be retried";
        case condition::overloaded: return "overloaded";
        case condition::disconnected: return "the link went down after the call was sent";
        case condition::unimplemented: return "not implemented by the callee";
        case condition::failed: return "failed";
        case condition::timed_out: return "no answer in time; the call may have run";
        case condition::permanent: return "a connect error that a retry will meet again";
        }
        return "unknown mailroom condition " + std::to_string(ev);
    }

    bool equivalent(const std::error_code& code, int cond) const noexcept override
    {
        return code.category() == mailroom::error_category() &&
               code.category().default_error_condition(code.value()).value() == cond;
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const error_category_impl instance;
    return instance;
}

const std::error_category& condition_category() noexcept
{
    static const condition_category_impl instance;
    return instance;
}

} // namespace mailroom
