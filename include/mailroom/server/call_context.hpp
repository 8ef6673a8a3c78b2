#pragma once

#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/trace_context.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace mailroom {

/** What a remote handler may know about the call it serves. Take it as an optional first
    parameter `const call_context&`.

    The views are valid until the handler returns (a coroutine handler: until it completes).
    Copy what you keep longer.
*/
struct call_context {
    /// The caller's server id from its handshake (empty for a plain client).
    std::string_view caller_id;
    /// The caller's request id; 0 for a notify.
    std::uint64_t request_id = 0;
    /// The namespace, server type, service and method called.
    protocol::method_path path;
    /// When the caller stops waiting (receive time + the caller's timeout);
    /// `time_point::max()` if it did not say.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// The executor the handler runs on (a coroutine handler's awaits resume there).
    asio::any_io_executor executor;
    /** The call's trace: the caller's trace id and the span id it gave this call (the same
        in the caller's `rpc_log` line), or a new trace when the caller sent none (an older
        peer; the pomelo and Crawlab wires). Pass it on as `call_options::trace` (or
        `stub.with({.trace = ctx.trace})`) so a downstream call continues the trace; plain
        and reply-callback handlers continue it implicitly for calls made in their body.
    */
    trace_context trace{};

    bool is_notify() const noexcept { return request_id == 0; }
};

} // namespace mailroom
