#include "../filters/chain_walk.hpp"
#include "cancellation_access.hpp"

#include <mailroom/client/detail/call_pipeline.hpp>
#include <mailroom/client/mail_station.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

namespace mailroom::detail {

bool never_sent(std::error_code ec) noexcept
{
    if (ec.category() != error_category())
        return false;
    switch (static_cast<error>(ec.value())) {
    case error::no_target_server:
    case error::connect_failed:
    case error::queue_full:
    case error::unknown_server:
    case error::unknown_transport:
    case error::frame_too_large:
    case error::version_mismatch:
    case error::not_sent:
    case error::wrong_server:
    case error::not_encodable:
        return true;
    default:
        return false;
    }
}

void add_extras(call& c, const protocol::method_path& path, const route_param* param,
                bool routed, const client_filters* filters, const failure_policies& policies)
{
    std::shared_ptr<const client_filters::table> table;
    if (filters && !filters->empty()) {
        table = filters->snapshot();
        if (table->for_type(path.server_type).empty())
            table = nullptr;
    }
    auto policy = c.options.policy ? c.options.policy
                  : policies.empty()   ? nullptr
                                       : policies.for_type(path.server_type);
    if (!table && !policy)
        return;
    auto& x = c.extras.emplace();
    x.filters = std::move(table);
    x.policy = std::move(policy);
    x.routed = routed;
    filter_call& info = x.info;
    info.ns = path.ns;
    info.server_type = path.server_type;
    info.service = path.service;
    info.method = path.method;
    info.source = c.station->options().client_id;
    info.request_id = c.id;
    info.trace = c.options.trace;
    info.start = std::chrono::steady_clock::now();
    const auto timeout = c.options.timeout.count() > 0 ? c.options.timeout
                                                       : c.station->options().request_timeout;
    info.deadline = info.start + timeout;
    if (param)
        info.param = owned_route_param(*param); // the caller's param dies with its frame
}

namespace {

bool is_cancellation(std::error_code ec) noexcept
{
    return ec == error::cancelled || ec == std::errc::operation_canceled;
}

} // namespace

/** A call with client filters or a failure policy, from its first attempt to its completion.

    Each attempt: the filters' `before` in order (each may reject it or change its target),
    then the station, on the snapshot the call was routed on; then the `after` of the filters
    that let it through, in reverse order, with the attempt's outcome. A failed attempt is
    shown to the failure policy, which may send the call again (to another server, or later);
    else the caller's handler runs, exactly once.

    The call may outlive its station (a filter that continues later, a retry delay, an
    attempt in the background): it holds the station through a station_ref, which does not
    keep it alive, and its executor by value. A step taken after the station is gone
    completes the call with `cancelled`. A retry delay is cut short, and the call completes
    with `cancelled`, when the station closes or the call's cancellation fires.
*/
class call_pipeline final : public chain_walk<call_pipeline, client_filter>,
                            public cancel_target {
public:
    explicit call_pipeline(call&& c)
        : station_(*c.station), view_(std::move(c.view)), id_(c.id), frame_(std::move(c.f)),
          encoded_by_(c.protocol), encode_error_(c.encode_error),
          args_(std::move(c.extras->args)), options_(std::move(c.options)),
          table_(std::move(c.extras->filters)), policy_(std::move(c.extras->policy)),
          routed_(c.extras->routed), metrics_(c.metrics)
    {
        call_ = std::move(c.extras->info);
        call_.target = std::move(c.target);
        static const std::vector<std::shared_ptr<client_filter>> none;
        filters_ = table_ ? &table_->for_type(call_.server_type) : &none;
    }

    const asio::any_io_executor& executor() const noexcept { return station_.executor(); }

    void start(call_handler on_result, status_handler on_sent)
    {
        on_result_ = std::move(on_result);
        on_sent_ = std::move(on_sent);
        attempt();
    }

    void attempt()
    {
        passed_ = 0;
        step(0);
    }

private:
    friend class chain_walk<call_pipeline, client_filter>;

    /** The frame for the attempt's target: encoded again when the target speaks another
        protocol than the one that encoded it (a filter or the policy moved the call), from
        the copy of the arguments the call kept for that case.
    */
    void encode_for_target()
    {
        const wire_protocol& p = protocol_of(*view_, call_.target);
        if (&p == encoded_by_ || !args_)
            return;
        frame f;
        const protocol::method_path path{call_.ns, call_.server_type, call_.service, call_.method};
        const auto timeout_ms = static_cast<std::uint32_t>(
            std::min<std::int64_t>(options_.timeout.count(), UINT32_MAX));
        encode_error_ = encode_noexcept([&] {
            return id_ ? p.encode_traced_request(f, id_, path, *args_, timeout_ms, options_.trace)
                       : p.encode_traced_notify(f, path, *args_, options_.trace);
        });
        frame_ = std::move(f);
        encoded_by_ = &p;
    }

    void passed()
    {
        encode_for_target();
        if (encode_error_)
            return rejected(encode_error_);
        // A policy may need the frame again: each attempt sends a copy.
        frame f = policy_ ? frame(frame_) : std::move(frame_);
        auto self = shared_from_this();
        if (id_) {
            send_request(station_, view_, call_.target, id_, std::move(f), options_,
                         [self](std::error_code ec, const protocol::response_view* rv) {
                             std::error_code outcome = ec;
                             if (!ec && rv && rv->code)
                                 outcome = std::error_code(rv->code, error_category());
                             self->attempt_done(outcome, !never_sent(ec), ec, rv);
                         });
        } else {
            send_notify(station_, view_, call_.target, std::move(f),
                        [self](std::error_code ec) { self->attempt_done(ec, !never_sent(ec), ec); });
        }
    }

    void rejected(std::error_code ec)
    {
        if (metrics_ && !refusing_filter().empty())
            metrics_->refused(metrics::side::client, refusing_filter(), ec);
        refused_by_ = static_cast<std::size_t>(-1); // a later attempt starts afresh
        attempt_done(ec, false, ec, nullptr, true);
    }

    /// `outcome`: the attempt's error, the remote's included; `ec`, `rv`: as the station
    /// reported it (what the caller's handler decodes).
    void attempt_done(std::error_code outcome, bool sent, std::error_code ec,
                      const protocol::response_view* rv = nullptr, bool rejected = false)
    {
        run_after(outcome);
        if (outcome && policy_ && again(outcome, sent, ec, rv, rejected))
            return;
        if (policy_) {
            try {
                policy_->on_done(call_, outcome);
            } catch (...) {
            }
        }
        if (rejected)
            return complete_later(ec);
        complete(ec, rv);
    }

    /// Asks the policy; true if the call goes on with another attempt.
    bool again(std::error_code outcome, bool sent, std::error_code ec,
               const protocol::response_view* rv, bool rejected)
    {
        if (is_cancellation(outcome) || (options_.cancel && options_.cancel->cancelled()))
            return false;
        failed_.push_back(call_.target);
        retry_decision d;
        try {
            d = policy_->on_failure({call_, outcome, sent, routed_, failed_, table_of(*view_)});
        } catch (...) {
            return false;
        }
        if (d.target.empty())
            return false;
        const auto start = std::chrono::steady_clock::now() + d.delay;
        if (start >= call_.deadline)
            return false;
        if (d.in_background) {
            // The caller's answer now (a remote's response is only valid now); the attempts
            // go on for the policy's sake.
            if (rejected)
                complete_later(ec);
            else
                complete(ec, rv);
        }
        call_.target = std::move(d.target);
        ++call_.attempt;
        options_.timeout = std::max(std::chrono::milliseconds(1),
                                    std::chrono::ceil<std::chrono::milliseconds>(
                                        call_.deadline - start));
        // Never inline: a synchronous rejection would otherwise recurse through the policy.
        if (d.delay.count() <= 0) {
            asio::post(station_.executor(), [self = shared_from_this()] { self->attempt(); });
        } else {
            wait_before_attempt(d.delay);
        }
        return true;
    }

    /// Waits `delay`, then makes the next attempt; cut short by cancel_call.
    void wait_before_attempt(std::chrono::milliseconds delay)
    {
        if (!watching_) {
            // Registered once, for every delay of the call: the station's close and the
            // call's cancellation cut a delay short (both call cancel_call).
            watching_ = true;
            const std::weak_ptr<cancel_target> me = std::static_pointer_cast<cancel_target>(
                shared_from_this());
            bool live = cancel_on_close(station_, me, id_);
            if (live && options_.cancel)
                live = cancellation_access::attach(*options_.cancel, me, id_);
            if (!live) {
                std::lock_guard lock(timer_mu_);
                cut_short_ = true;
            }
        }
        std::lock_guard lock(timer_mu_);
        if (!timer_)
            timer_.emplace(station_.executor());
        timer_->expires_after(cut_short_ ? std::chrono::milliseconds(0) : delay);
        timer_->async_wait([self = shared_from_this()](const boost::system::error_code&) {
            self->after_delay();
        });
    }

    void after_delay()
    {
        bool cut = false;
        {
            std::lock_guard lock(timer_mu_);
            cut = cut_short_;
        }
        if (cut || (options_.cancel && options_.cancel->cancelled())) {
            passed_ = 0; // no filter saw this attempt
            return attempt_done(error::cancelled, false, error::cancelled, nullptr, true);
        }
        attempt();
    }

    /// The station closed (or is being destroyed) or the call's cancellation fired: a delay
    /// pending now or later ends at once, and the call with `cancelled`. An attempt in
    /// progress ends on its own (the station cancels it).
    void cancel_call(std::uint64_t) override
    {
        std::lock_guard lock(timer_mu_);
        cut_short_ = true;
        if (timer_)
            timer_->cancel();
    }

    /** Completes the caller with `ec` from the station's executor: a rejection found while
        initiating must not run the handler inside the call that started it. The handler is
        taken now, so nothing that happens meanwhile can answer the caller instead.
    */
    void complete_later(std::error_code ec)
    {
        // `keep`: the handler's completion may refer to this call's executor.
        if (auto h = std::move(on_result_))
            asio::post(station_.executor(),
                       [h = std::move(h), ec, keep = shared_from_this()]() mutable { h(ec, nullptr); });
        else if (auto s = std::move(on_sent_))
            asio::post(station_.executor(),
                       [s = std::move(s), ec, keep = shared_from_this()]() mutable { s(ec); });
    }

    void complete(std::error_code ec, const protocol::response_view* rv)
    {
        if (id_) {
            if (auto h = std::move(on_result_))
                h(ec, rv);
        } else if (auto h = std::move(on_sent_)) {
            h(ec);
        }
    }

    station_ref station_;
    station_view_ptr view_;
    std::uint64_t id_;
    frame frame_;
    const wire_protocol* encoded_by_;  // what frame_ is encoded for
    std::error_code encode_error_;     // frame_ could not be encoded
    std::shared_ptr<const value_source> args_; // null: one protocol, frame_ never re-encoded
    call_options options_;
    std::shared_ptr<const client_filters::table> table_;
    std::shared_ptr<failure_policy> policy_;
    bool routed_;
    metrics::registry* metrics_;
    call_handler on_result_;
    status_handler on_sent_;
    std::vector<std::string> failed_;
    std::mutex timer_mu_; // timer_ and cut_short_: cancel_call runs on any thread
    std::optional<asio::steady_timer> timer_;
    bool cut_short_ = false;
    bool watching_ = false; // the pipeline's own sequence only
};

pipeline_start::pipeline_start(call&& c) : p_(std::make_shared<call_pipeline>(std::move(c))) {}

const asio::any_io_executor& pipeline_start::executor() const noexcept { return p_->executor(); }

void pipeline_start::run(call_handler done) &&
{
    p_->start(std::move(done), nullptr);
}

void pipeline_start::run(status_handler done) &&
{
    p_->start(nullptr, std::move(done));
}

} // namespace mailroom::detail
