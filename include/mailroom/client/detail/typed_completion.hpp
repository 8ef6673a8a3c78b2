#pragma once

#include <mailroom/client/reply.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/error.hpp>
#include <mailroom/protocol/message.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

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
        return reply(msgpack::clone(rv->result), {});
    } else {
        try {
            return rv->result.as<R>();
        } catch (...) {
            ec = error::bad_result;
            return R{};
        }
    }
}

/** Adapts an Asio completion handler for `R` to the station's @ref call_handler: decodes
    on the I/O thread, then runs the user's handler on its associated executor (inline when
    already there), keeping that executor's work count up meanwhile.
*/
template <class R, class Handler, class DefaultExecutor>
class typed_completion {
    using executor_type = asio::associated_executor_t<Handler, DefaultExecutor>;

public:
    typed_completion(Handler&& h, const DefaultExecutor& ex)
        : work_(asio::get_associated_executor(h, ex)), handler_(std::move(h))
    {
    }

    void operator()(std::error_code ec, const protocol::response_view* rv)
    {
        auto ex = work_.get_executor();
        if constexpr (std::is_void_v<R>) {
            if (!ec && rv && rv->code != 0)
                ec = std::error_code(rv->code, error_category());
            asio::dispatch(ex, [h = std::move(handler_), ec, work = std::move(work_)]() mutable {
                std::move(h)(ec);
            });
        } else {
            R value = decode_result<R>(ec, rv);
            asio::dispatch(ex, [h = std::move(handler_), ec, v = std::move(value),
                                work = std::move(work_)]() mutable { std::move(h)(ec, std::move(v)); });
        }
    }

private:
    asio::executor_work_guard<executor_type> work_;
    Handler handler_;
};

/// Same for a `void(std::error_code)` completion that carries no response (notify).
template <class Handler, class DefaultExecutor>
class status_completion {
    using executor_type = asio::associated_executor_t<Handler, DefaultExecutor>;

public:
    status_completion(Handler&& h, const DefaultExecutor& ex)
        : work_(asio::get_associated_executor(h, ex)), handler_(std::move(h))
    {
    }

    void operator()(std::error_code ec)
    {
        auto ex = work_.get_executor();
        asio::dispatch(ex, [h = std::move(handler_), ec, work = std::move(work_)]() mutable {
            std::move(h)(ec);
        });
    }

private:
    asio::executor_work_guard<executor_type> work_;
    Handler handler_;
};

} // namespace mailroom::detail
