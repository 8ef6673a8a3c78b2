#include "session.hpp"
#include "../filters/chain_walk.hpp"

#include <mailroom/detail/deadline_clock.hpp>
#include <mailroom/error.hpp>

namespace mailroom::detail {
namespace {

/** One call on its way through the server filters. It owns a copy of the received frame
    (a filter may let the call go on later, after the read buffer is reused) and observes the
    answer to run the filters' `after`.
*/
class filtered_call final : public response_observer,
                            public chain_walk<filtered_call, server_filter> {
public:
    filtered_call(std::shared_ptr<session> s, std::shared_ptr<const server_filters::table> table,
                  std::span<const char> body)
        : session_(std::move(s)), table_(std::move(table)), body_(body.begin(), body.end())
    {
    }

    /// Decodes the owned copy; false if it does not decode (it did once already).
    bool decode() { return !session_->protocol().decode(body_, zone_, msg_); }

    void start()
    {
        auto& req = msg_.request;
        // Started here when the caller sent none, so that the filters and the handler see
        // the same trace.
        if (!req.trace.valid())
            req.trace = trace_context::make_root();
        filters_ = &table_->for_type(req.path.server_type);
        call_.ns = req.path.ns;
        call_.server_type = req.path.server_type;
        call_.service = req.path.service;
        call_.method = req.path.method;
        call_.source = session_->peer_id();
        call_.target = session_->state().options.server_id;
        call_.request_id = req.id;
        call_.trace = req.trace;
        call_.start = std::chrono::steady_clock::now();
        if (req.timeout_ms)
            call_.deadline = call_.start + std::chrono::milliseconds(req.timeout_ms);
        responder_ = session_->make_responder(req.id, shared_from_this());
        stats_ = session_->meter(req, session_->lookup(req.path), responder_, metered_at_,
                                 detail::deadline_clock::now(), req.trace);
        if (auto ec = session_->admit(req))
            return finish(ec);
        step(0);
    }

    void answered(std::uint64_t id, std::error_code ec) noexcept override
    {
        run_after(ec);
        session_->answered(id, ec);
    }

    std::string_view peer() const noexcept override { return session_->peer_id(); }

private:
    friend class chain_walk<filtered_call, server_filter>;

    void passed() { dispatch(); }
    void rejected(std::error_code ec)
    {
        if (auto* reg = session_->state().options.metrics.get(); reg && !refusing_filter().empty())
            reg->refused(metrics::side::server, refusing_filter(), ec);
        finish(ec);
    }

    /// A notify has no answer: it counts once dispatched or refused.
    void notify_done(std::error_code ec) noexcept
    {
        if (stats_ && !msg_.request.id)
            metrics::finish_call(*stats_, metered_at_, ec, session_->peer_id());
    }

    void dispatch()
    {
        auto& st = session_->state();
        auto ctx = make_context(*session_, msg_.request, call_.start);
        if (msg_.request.id) {
            st.disp.dispatch(ctx, msg_.request.args, std::move(responder_));
        } else {
            st.disp.dispatch(ctx, msg_.request.args, responder());
            notify_done({});
            run_after({}); // a notify has no answer: its filters see the dispatch
        }
    }

    void finish(std::error_code ec)
    {
        if (responder_.owed())
            responder_.fail(ec);
        else if (!msg_.request.id) {
            notify_done(ec);
            run_after(ec);
        }
    }

    std::shared_ptr<session> session_;
    std::shared_ptr<const server_filters::table> table_;
    std::vector<char> body_;
    msgpack::zone zone_;
    protocol::message msg_;
    responder responder_;
    metrics::call_stats* stats_ = nullptr;
    std::chrono::steady_clock::time_point metered_at_{};
};

} // namespace

void dispatch_filtered(const std::shared_ptr<session>& s,
                       std::shared_ptr<const server_filters::table> filters,
                       std::span<const char> body, const protocol::request_view&)
{
    auto call = std::make_shared<filtered_call>(s, std::move(filters), body);
    if (call->decode())
        call->start();
}

} // namespace mailroom::detail
