#pragma once

#include <mailroom/metrics/call_stats.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/server/acceptor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

namespace mailroom {

/** Learns when a call is answered: the server uses it for in-flight counts and server
    filters' `after`. Called once per responder that owed an answer, on the answering thread.
*/
class response_observer {
public:
    virtual ~response_observer() = default;
    /// Call `id` was answered with `ec` (empty: a result).
    virtual void answered(std::uint64_t id, std::error_code ec) noexcept = 0;
    /// The caller's server id, as metrics name it in the recent-error ring.
    virtual std::string_view peer() const noexcept { return {}; }
};

/** The right and duty to answer one call: exactly one of `send` or `fail` takes effect.

    A responder that is destroyed without answering answers `remote_error` ("the handler
    dropped the call"), so a caller never waits for its timeout because a handler forgot it.
    A notify's responder sends nothing.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe. It may be moved to and completed on any
    thread.

    @par Example
    @code
    dispatcher.add_raw("user", "clock", "now", [](const call_context&, const value_view&,
                                                  responder r) { r.send(std::time(nullptr)); });
    @endcode
*/
class responder {
public:
    /// A responder that owes nothing (a notify).
    responder() noexcept = default;

    /** Owes an answer to request `id` on `conn`, encoded by `protocol` (null: the native
        one; it must outlive the responder, which the observer usually ensures). Answers above
        `max_frame_size` bytes are replaced by `frame_too_large`. `observer`, if given, learns
        when it is answered.
    */
    responder(std::shared_ptr<connection> conn, std::uint64_t id,
              std::size_t max_frame_size = 8u << 20,
              std::shared_ptr<response_observer> observer = nullptr,
              const wire_protocol* protocol = nullptr) noexcept
        : conn_(std::move(conn)), id_(id), max_frame_size_(max_frame_size),
          observer_(std::move(observer)),
          protocol_(protocol ? protocol : native_protocol().get())
    {
    }

    responder(responder&& other) noexcept
        : conn_(std::move(other.conn_)), id_(std::exchange(other.id_, 0)),
          max_frame_size_(other.max_frame_size_), observer_(std::move(other.observer_)),
          protocol_(other.protocol_), stats_(std::exchange(other.stats_, nullptr)),
          start_(other.start_), began_(other.began_), trace_(other.trace_)
    {
    }

    responder& operator=(responder&& other) noexcept
    {
        if (this != &other) {
            drop();
            conn_ = std::move(other.conn_);
            id_ = std::exchange(other.id_, 0);
            max_frame_size_ = other.max_frame_size_;
            observer_ = std::move(other.observer_);
            protocol_ = other.protocol_;
            stats_ = std::exchange(other.stats_, nullptr);
            start_ = other.start_;
            began_ = other.began_;
            trace_ = other.trace_;
        }
        return *this;
    }

    ~responder() { drop(); }

    /// True until an answer was sent (always false for a notify).
    bool owed() const noexcept { return conn_ && id_ != 0; }

    /** Answers with a result, encoded by the protocol that received the call. A result with
        no form in that protocol's format answers `remote_error` instead (not `not_encodable`,
        which would tell the caller the call was never sent: the handler ran).
    */
    template <class T>
    void send(const T& result)
    {
        if (owed())
            send_value(value_ref<T>(result));
    }

    /// Answers a `void` method.
    void send();

    /** Answers with an error. A `mailroom::error` travels as itself; any other code travels
        as `remote_error` with `message` (or the code's category and message).
    */
    void fail(std::error_code ec, std::string_view message = {});

    /** Counts the answer in `stats` (whose `started` counted the call), with the time since
        `start` (zero: not timed); a call slower than the registry's `slow_call` since
        `began` (detail::deadline_clock, the request's arrival; zero: not watched) is kept
        with `trace` (call_stats::slow). The server sets it when the App keeps metrics; a
        handler never needs it.
    */
    void meter(metrics::call_stats* stats, std::chrono::steady_clock::time_point start,
               std::chrono::steady_clock::time_point began = {},
               const trace_context& trace = {}) noexcept
    {
        stats_ = stats;
        start_ = start;
        began_ = began;
        trace_ = trace;
    }

private:
    inline void count(std::error_code ec) noexcept; // responder.cpp, its only user
    void send_value(const value_source& result);
    bool encode_error(frame& f, std::error_code ec, std::string_view text) noexcept;
    void abandon(std::error_code ec) noexcept;
    void finish(frame f, std::error_code ec);
    void drop() noexcept;

    std::shared_ptr<connection> conn_;
    std::uint64_t id_ = 0;
    std::size_t max_frame_size_ = 8u << 20;
    std::shared_ptr<response_observer> observer_;
    const wire_protocol* protocol_ = native_protocol().get();
    metrics::call_stats* stats_ = nullptr; // null: not counted
    std::chrono::steady_clock::time_point start_{};
    std::chrono::steady_clock::time_point began_{};
    trace_context trace_{};
};

} // namespace mailroom
