#include <mailroom/error.hpp>
#include <mailroom/filters/too_busy.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace mailroom::filters {

struct lag_monitor::state : std::enable_shared_from_this<state> {
    state(asio::any_io_executor ex, std::chrono::milliseconds i)
        : strand(asio::make_strand(ex)), timer(strand), interval(i)
    {
    }

    void arm()
    {
        expected = std::chrono::steady_clock::now() + interval;
        timer.expires_at(expected);
        timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            auto s = weak.lock();
            if (!s || ec || s->stopped)
                return;
            s->sample();
            s->arm();
        });
    }

    void sample()
    {
        using namespace std::chrono;
        const auto late = duration_cast<microseconds>(steady_clock::now() - expected).count();
        const auto old = smoothed.load(std::memory_order_relaxed);
        // node-toobusy's smoothing: each sample weighs 1/3.
        smoothed.store((std::max<std::int64_t>(late, 0) + 2 * old) / 3, std::memory_order_relaxed);
    }

    asio::strand<asio::any_io_executor> strand;
    asio::steady_timer timer;
    std::chrono::milliseconds interval;
    std::chrono::steady_clock::time_point expected;
    std::atomic<std::int64_t> smoothed{0}; // microseconds
    bool stopped = false;                  // strand only
};

lag_monitor::lag_monitor(asio::any_io_executor ex, std::chrono::milliseconds interval)
    : state_(std::make_shared<state>(std::move(ex), std::max(interval, std::chrono::milliseconds(1))))
{
    asio::post(state_->strand, [s = state_] { s->arm(); });
}

lag_monitor::~lag_monitor() { stop(); }

void lag_monitor::stop()
{
    // The timer belongs to the strand: cancel it there. A pending timer is work that would
    // keep the I/O threads of a stopping App running.
    asio::post(state_->strand, [s = state_] {
        s->stopped = true;
        s->timer.cancel();
    });
}

std::chrono::microseconds lag_monitor::lag() const noexcept
{
    return std::chrono::microseconds(state_->smoothed.load(std::memory_order_relaxed));
}

server_too_busy::server_too_busy(asio::any_io_executor ex, std::function<std::size_t()> in_flight,
                                 too_busy_options options)
    : options_(options), in_flight_(std::move(in_flight)),
      monitor_(std::move(ex), options.check_interval)
{
}

void server_too_busy::before(filter_call&, filter_next next)
{
    if (monitor_.lag() > options_.max_lag)
        return next(error::server_busy);
    // The call being filtered is counted in flight already.
    if (in_flight_ && in_flight_() > options_.max_in_flight)
        return next(error::server_busy);
    next();
}

client_too_busy::client_too_busy(asio::any_io_executor ex, too_busy_options options)
    : options_(options), monitor_(std::move(ex), options.check_interval)
{
}

void client_too_busy::before(filter_call& call, filter_next next)
{
    if (monitor_.lag() > options_.max_lag)
        return next(error::server_busy);
    {
        std::lock_guard lock(mu_);
        auto it = in_flight_.find(call.target);
        if (it == in_flight_.end())
            it = in_flight_.emplace(call.target, 0).first;
        if (it->second >= options_.max_in_flight)
            return next(error::server_busy);
        ++it->second;
        // A later filter may still change call.target: `after` must release the server
        // counted here, not the one the call ended up on.
        counted_.emplace(&call, call.target);
    }
    next();
}

void client_too_busy::after(const filter_call& call, std::error_code, std::chrono::nanoseconds)
{
    std::lock_guard lock(mu_);
    auto c = counted_.find(&call);
    if (c == counted_.end())
        return;
    if (auto it = in_flight_.find(c->second); it != in_flight_.end() && it->second > 0)
        --it->second;
    counted_.erase(c);
}

std::size_t client_too_busy::in_flight(std::string_view server_id) const
{
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(server_id);
    return it == in_flight_.end() ? 0 : it->second;
}

} // namespace mailroom::filters
