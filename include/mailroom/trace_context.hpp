#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom {

/** Where a call sits in a distributed trace, in the shape of W3C Trace Context's
    `traceparent`: a 16-byte trace id shared by every call of one chain (connector → chat →
    area), an 8-byte span id naming one call, and flags (bit 0: sampled).

    Every call carries one (docs/operations.md, "Tracing"). A call made with no parent starts
    a new trace; a call made from a handler continues the handler's trace with a new span.
    The caller and the callee of one call see the same span id (its `rpc_log` lines match on
    both ends). The native protocol carries it in the request metadata (docs/protocol.md,
    section 3); a protocol without room for it (pomelo-rpc, Crawlab) starts a new trace at the
    receiver.

    @par Thread safety
    A value type: distinct objects are independent; `make_root` and `child` may be called
    from any thread.

    @par Example
    @code
    int forward(const mailroom::call_context& ctx, int x) // a handler calling on
    {
        app.rpc.area.areaRemote.with({.trace = ctx.trace}).move(uid, x, callback);
        log("trace {}", ctx.trace.trace_id_hex());
    }
    @endcode
*/
struct trace_context {
    /// All zero: no trace (an empty context).
    std::array<std::uint8_t, 16> trace_id{};
    /// All zero: none.
    std::array<std::uint8_t, 8> span_id{};
    /// W3C trace-flags; bit 0 (`sampled`) is set on the traces mailroom starts.
    std::uint8_t flags = 0;

    /// W3C's `sampled` flag.
    static constexpr std::uint8_t sampled = 0x01;

    /// Whether this names a trace (a non-zero trace id and span id).
    bool valid() const noexcept;

    /// A new trace: random trace id and span id, sampled.
    static trace_context make_root() noexcept;

    /// The same trace with a new random span id: a call made in this context. An empty
    /// context yields a new root.
    trace_context child() const noexcept;

    /// 32 lowercase hex digits.
    std::string trace_id_hex() const;
    /// 16 lowercase hex digits.
    std::string span_id_hex() const;

    /// `00-<trace id>-<span id>-<flags>`, W3C's `traceparent` header value.
    std::string traceparent() const;

    /// Reads a `traceparent` value (version 00, or a later version's first four fields);
    /// nothing if it is malformed or names no trace.
    static std::optional<trace_context> from_traceparent(std::string_view text) noexcept;

    friend bool operator==(const trace_context&, const trace_context&) = default;
};

/** The trace of the handler running on the calling thread: set by the dispatcher while the
    body of a plain or reply-callback handler runs, empty elsewhere. A call made without
    `call_options::trace` continues it (implicit propagation). Not set in coroutine handlers
    (their code runs between suspensions, interleaved with other handlers): pass
    `call_context::trace` explicitly there, and in any code that runs later (a timer, a
    posted function, a reply callback).
*/
trace_context current_trace() noexcept;

/** Makes `t` the thread's @ref current_trace until destroyed (then restores the previous
    one). The dispatcher uses it around a handler; use it where you run work on behalf of a
    call and want its outgoing calls to continue that call's trace.
*/
class trace_scope {
public:
    explicit trace_scope(const trace_context& t) noexcept;
    ~trace_scope();
    trace_scope(const trace_scope&) = delete;
    trace_scope& operator=(const trace_scope&) = delete;

private:
    trace_context previous_;
};

} // namespace mailroom
