#pragma once

#include <mailroom/client/reply.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/message.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_executor.hpp>

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace mailroom::detail {

/// The completion signature of a call returning `R`.
template <class R>
struct call_signature {
    using type = void(std::error_code, R);
};

template <>
struct call_signature<void> {
    using type = void(std::error_code);
};

template <class R>
using call_signature_t = typename call_signature<R>::type;

/// Turns a response into `(error_code, R)`; a result that does not convert is bad_result.
template <class R>
R decode_result(std::error_code& ec, const protocol::response_view* rv)
{
    if (ec || !rv)
        return R{};
    if (rv->code != 0) {
        ec = std::error_code(rv->code, error_category());
        if constexpr (std::is_same_v<R, reply>)
            return reply({}, std::string(rv->message));
        else
            return R{};
    }
    if constexpr (std::is_same_v<R, reply>) {
        return reply(rv->result);
    } else {
        if constexpr (!json_only_v<R>) {
            if (rv->result.format() == value_format::msgpack) {
                try {
                    return rv->result.msgpack().as<R>(); // built in place, not assigned
                } catch (...) {
                    ec = error::bad_result;
                    return R{};
                }
            }
        }
        R value{};
        if (!rv->result.convert(value)) {
            ec = error::bad_result;
            return R{};
        }
        return value;
    }
}

/** Where a completion runs: the handler's associated executor, kept busy (a work guard) until
    the handler ran; or, for a handler without one, the station's executor, which needs no
    guard (the station keeps its own work while a call is pending) and costs no copy of it.
*/
template <class Handler, class DefaultExecutor>
class completion_target {
public:
    static constexpr bool has_own =
        !std::is_same_v<asio::associated_executor_t<Handler>, asio::system_executor>;
    using executor_type = asio::associated_executor_t<Handler, DefaultExecutor>;

    completion_target(const Handler& h, const DefaultExecutor& ex)
        : work_(make_work(h, ex)), default_(has_own ? nullptr : &ex)
    {
    }

    /// Runs `f` there, inline if this thread already runs that executor.
    template <class F>
    void dispatch(F&& f)
    {
        if constexpr (has_own) {
            auto ex = work_.get_executor();
            asio::dispatch(ex, [f = std::forward<F>(f), work = std::move(work_)]() mutable { f(); });
        } else {
            // What asio::dispatch does for an io_context's executor, without the type-erased
            // detour through any_io_executor (a copy of it and a wrapped function per call).
            if constexpr (std::is_same_v<DefaultExecutor, asio::any_io_executor>) {
                using io_executor = asio::io_context::executor_type;
                if (const io_executor* io = default_->template target<io_executor>();
                    io && io->running_in_this_thread())
                    return std::forward<F>(f)();
            }
            asio::dispatch(*default_, std::forward<F>(f));
        }
    }

private:
    struct none {
        none(const Handler&, const DefaultExecutor&) noexcept {}
    };
    using work_type =
        std::conditional_t<has_own, asio::executor_work_guard<executor_type>, none>;

    static work_type make_work(const Handler& h, const DefaultExecutor& ex)
    {
        if constexpr (has_own)
            return work_type(asio::get_associated_executor(h, ex));
        else
            return work_type(h, ex);
    }

    [[no_unique_address]] work_type work_;
    const DefaultExecutor* default_; // the station's; outlives every call
};

/** Adapts an Asio completion handler for `R` to the station's @ref call_handler: decodes
    on the I/O thread, then runs the user's handler on its associated executor (inline when
    already there).
*/
template <class R, class Handler, class DefaultExecutor>
class typed_completion {
public:
    typed_completion(Handler&& h, const DefaultExecutor& ex)
        : target_(h, ex), handler_(std::move(h))
    {
    }

    void operator()(std::error_code ec, const protocol::response_view* rv)
    {
        if constexpr (std::is_void_v<R>) {
            if (!ec && rv && rv->code != 0)
                ec = std::error_code(rv->code, error_category());
            target_.dispatch([h = std::move(handler_), ec]() mutable { std::move(h)(ec); });
        } else {
            R value = decode_result<R>(ec, rv);
            target_.dispatch([h = std::move(handler_), ec, v = std::move(value)]() mutable {
                std::move(h)(ec, std::move(v));
            });
        }
    }

private:
    completion_target<Handler, DefaultExecutor> target_;
    Handler handler_;
};

/// Same for a `void(std::error_code)` completion that carries no response (notify).
template <class Handler, class DefaultExecutor>
class status_completion {
public:
    status_completion(Handler&& h, const DefaultExecutor& ex)
        : target_(h, ex), handler_(std::move(h))
    {
    }

    void operator()(std::error_code ec)
    {
        target_.dispatch([h = std::move(handler_), ec]() mutable { std::move(h)(ec); });
    }

private:
    completion_target<Handler, DefaultExecutor> target_;
    Handler handler_;
};

} // namespace mailroom::detail
