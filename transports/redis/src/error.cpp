#include <mailroom/error.hpp>
#include <mailroom/redis/error.hpp>

#include <string>

namespace mailroom::redis {

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailroom.redis"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::unreachable: return "Redis unreachable";
        case error::connection_lost: return "connection to Redis lost";
        case error::auth_failed: return "Redis refused AUTH or SELECT";
        case error::bad_url: return "malformed redis:// URL";
        case error::protocol_error: return "Redis sent bytes that are not RESP";
        case error::command_failed: return "Redis answered with an error";
        case error::bad_option: return "a server entry's option the Redis transport does not understand";
        }
        return "unknown mailroom.redis error";
    }

    std::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::unreachable: return mailroom::condition::retryable;
        case error::connection_lost: return mailroom::condition::disconnected;
        default: return mailroom::condition::failed;
        }
    }

    bool equivalent(int ev, const std::error_condition& cond) const noexcept override
    {
        // A Redis that cannot be reached fails the queued calls now: the calls wait in no
        // queue of ours, and the next call tries again (after the backoff).
        if (cond == mailroom::condition::permanent)
            return ev == static_cast<int>(error::unreachable) ||
                   ev == static_cast<int>(error::auth_failed) ||
                   ev == static_cast<int>(error::bad_url) ||
                   ev == static_cast<int>(error::bad_option);
        return default_error_condition(ev) == cond;
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const category c;
    return c;
}

} // namespace mailroom::redis
