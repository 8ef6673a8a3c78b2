#include "../filters/chain_walk.hpp"

#include <mailroom/client/detail/filtered_call.hpp>
#include <mailroom/client/detail/station_access.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

namespace mailroom::detail {
namespace {

/** One call on its way through the client filters: `before` in order (each may reject or
    retarget it), then the station, then `after` in reverse order for the filters that let it
    through, with its outcome and duration, then the caller's handler.
*/
class filtered_call final : public chain_walk<filtered_call, client_filter> {
public:
    explicit filtered_call(filtered_call_args a) : a_(std::move(a))
    {
        call_.ns = std::move(a_.path.ns);
        call_.server_type = std::move(a_.path.server_type);
        call_.service = std::move(a_.path.service);
        call_.method = std::move(a_.path.method);
        call_.source = a_.station->options().client_id;
        call_.target = std::move(a_.target);
        call_.request_id = a_.id;
        call_.start = std::chrono::steady_clock::now();
        const auto timeout = a_.options.timeout.count() > 0 ? a_.options.timeout
                                                            : a_.station->options().request_timeout;
        call_.deadline = call_.start + timeout;
        call_.param = a_.param;
        filters_ = &a_.filters->for_type(call_.server_type);
    }

    void start()
    {
        step(0);
        call_.param = nullptr; // a view of the caller's object, valid only until now
    }

private:
    friend class chain_walk<filtered_call, client_filter>;

    void passed() { send(); }

    void send()
    {
        auto self = shared_from_this();
        if (a_.id) {
            detail::send_request(*a_.station, detail::view_of(*a_.station), call_.target, a_.id,
                                 std::move(a_.f), a_.options,
                                 [self](std::error_code ec, const protocol::response_view* rv) {
                                         std::error_code outcome = ec;
                                         if (!ec && rv && rv->code)
                                             outcome = std::error_code(rv->code, error_category());
                                         self->run_after(outcome);
                                         self->a_.on_result(ec, rv);
                                     });
        } else {
            detail::send_notify(*a_.station, detail::view_of(*a_.station), call_.target,
                                std::move(a_.f), [self](std::error_code ec) {
                self->run_after(ec);
                self->a_.on_sent(ec);
            });
        }
    }

    void rejected(std::error_code ec)
    {
        run_after(ec);
        // Posted: a rejection found while initiating must not run the handler inside the
        // call that started it.
        asio::post(a_.station->get_executor(), [self = shared_from_this(), ec] {
            if (self->a_.id)
                self->a_.on_result(ec, nullptr);
            else
                self->a_.on_sent(ec);
        });
    }

    filtered_call_args a_;
};

} // namespace

void send_filtered(filtered_call_args args)
{
    std::make_shared<filtered_call>(std::move(args))->start();
}

} // namespace mailroom::detail
