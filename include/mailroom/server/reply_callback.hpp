#pragma once

#include <mailroom/server/responder.hpp>

#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

namespace mailroom {

/** The reply callback of a callback-style remote method: take it as the last parameter and
    call it once, now or later, from any thread.

    `cb(value)` answers with a result (`cb()` for `reply_callback<void>`); `cb.fail(ec, msg)`
    answers with an error. A callback that is never called answers `remote_error` when the
    last copy is destroyed, so a forgotten reply never leaves the caller waiting.

    @par Thread safety
    Copies share one responder: call it once, from any thread.

    @par Example
    @code
    void get(std::string channel, mailroom::reply_callback<std::vector<std::string>> cb)
    {
        db.async_members(channel, [cb](auto members) { cb(std::move(members)); });
    }
    @endcode
*/
template <class T>
class reply_callback {
public:
    explicit reply_callback(responder r) : r_(std::make_shared<responder>(std::move(r))) {}

    void operator()(const T& value) const { r_->send(value); }

    void fail(std::error_code ec, std::string_view message = {}) const { r_->fail(ec, message); }

    /// True until the call has been answered.
    bool owed() const noexcept { return r_->owed(); }

private:
    std::shared_ptr<responder> r_;
};

template <>
class reply_callback<void> {
public:
    explicit reply_callback(responder r) : r_(std::make_shared<responder>(std::move(r))) {}

    void operator()() const { r_->send(); }

    void fail(std::error_code ec, std::string_view message = {}) const { r_->fail(ec, message); }

    bool owed() const noexcept { return r_->owed(); }

private:
    std::shared_ptr<responder> r_;
};

} // namespace mailroom
