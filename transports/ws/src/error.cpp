#include <mailroom/error.hpp>
#include <mailroom/ws/error.hpp>

namespace mailroom::ws {
namespace {

class ws_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailroom.ws"; }

    std::string message(int ev) const override
    {
        switch (static_cast<ws_error>(ev)) {
        case ws_error::upgrade_refused:
            return "the server refused the WebSocket upgrade";
        case ws_error::unauthorized:
            return "the server refused the WebSocket upgrade: 401 Unauthorized (missing or wrong "
                   "ws_token)";
        case ws_error::not_found:
            return "the server refused the WebSocket upgrade: 404 Not Found (check ws_path)";
        case ws_error::text_message:
            return "a WebSocket text message arrived; mailroom frames travel in binary messages";
        case ws_error::truncated_frame:
            return "a WebSocket batch message ended inside a frame (a batch holds whole frames "
                   "only)";
        case ws_error::unfinished_message:
            return "a fragmented WebSocket message took too many frames or too long";
        case ws_error::forbidden:
            return "the server refused the WebSocket upgrade: 403 Forbidden";
        }
        return "unknown WebSocket transport error";
    }

    std::error_condition default_error_condition(int ev) const noexcept override
    {
        const auto e = static_cast<ws_error>(ev);
        if (e == ws_error::text_message || e == ws_error::truncated_frame ||
            e == ws_error::unfinished_message)
            return condition::failed;
        return condition::retryable;
    }

    // A refusal that a retry meets again is also `condition::permanent`: the station then
    // fails queued calls at once (a 503 may heal and is not).
    bool equivalent(int ev, const std::error_condition& cond) const noexcept override
    {
        if (cond == condition::permanent) {
            const auto e = static_cast<ws_error>(ev);
            return e == ws_error::unauthorized || e == ws_error::not_found ||
                   e == ws_error::forbidden;
        }
        return default_error_condition(ev) == cond;
    }
};

} // namespace

const std::error_category& ws_category() noexcept
{
    static const ws_category_impl category;
    return category;
}

} // namespace mailroom::ws
