// Crawlab mode, client half: the endpoint's connections, its reply reader and its deadlines
// (crawlab_endpoint.hpp).
#include "crawlab_endpoint.hpp"

namespace mailroom::redis::detail {

void crawlab_endpoint::attach(std::shared_ptr<crawlab_mailbox> m)
{
    asio::post(strand_, [self = shared_from_this(), m = std::move(m)]() mutable {
        if (self->state_ != state::up)
            return m->lost(make_error_code(error::connection_lost));
        self->boxes_.insert(std::move(m));
    });
}

void crawlab_endpoint::detach(const crawlab_mailbox* m)
{
    asio::post(strand_, [self = shared_from_this(), m] {
        std::erase_if(self->boxes_, [m](auto& b) { return b.get() == m; });
        std::erase_if(self->pending_, [m](auto& p) { return p.second.box.get() == m; });
    });
}

void crawlab_endpoint::submit_on_strand(crawlab_call o)
{
    if (state_ != state::up)
        return; // the mail box learns of the loss through on_close
    if (o.refused) {
        if (o.id != 0)
            o.box->fail(o.id, o.refused, o.why);
        return;
    }
    if (o.id != 0 && pending_.size() >= options_.crawlab.max_in_flight)
        return o.box->fail(o.id, mailroom::error::queue_full,
                           "too many Crawlab calls waiting for a reply");
    auto& batch = batches_[o.list];
    if (batch.empty())
        batch.push_back("LPUSH"), batch.push_back(o.list);
    batch.push_back(std::move(o.text));
    batch_keys_[o.list].push_back(o.key);
    arm(o.deadline);
    pending_.emplace(std::move(o.key), waiting{std::move(o.box), o.id, o.deadline});
    ++keys_version_;
    if (!flush_posted_) {
        flush_posted_ = true;
        asio::post(strand_, [self = shared_from_this()] { self->flush(); });
    }
}

void crawlab_endpoint::flush()
{
    flush_posted_ = false;
    if (state_ != state::up)
        return;
    for (auto& [list, args] : batches_) {
        cmd_->exec(std::move(args), [self = shared_from_this(), keys = std::move(batch_keys_[list]),
                                     c = cmd_](std::error_code ec, reply) {
            // A refused push (Redis out of memory, the list of another type): nothing is sent.
            if (ec != error::command_failed || c != self->cmd_)
                return;
            for (auto& k : keys)
                if (auto it = self->pending_.find(k); it != self->pending_.end()) {
                    auto w = std::move(it->second);
                    self->pending_.erase(it);
                    if (w.id != 0)
                        w.box->fail(w.id, mailroom::error::not_sent, "Redis refused the LPUSH");
                }
        });
    }
    batches_.clear();
    batch_keys_.clear();
    if (!reading_)
        read();
    else
        wake();
}

void crawlab_endpoint::read()
{
    if (state_ != state::up || reading_ || pending_.empty())
        return;
    // After a reply, more are likely waiting: one pipelined pass of RPOPs takes them all in
    // one round trip, where a BRPOP would take one per round trip.
    if (drain_next_ && pending_.size() > 1)
        return drain();
    std::vector<std::string> args;
    args.reserve(pending_.size() + 2);
    args.push_back("BRPOP");
    for (auto& [key, w] : pending_)
        args.push_back(key);
    args.push_back("0");
    reading_ = blocking_ = true;
    read_version_ = keys_version_;
    reader_->exec(std::move(args), [self = shared_from_this(), r = reader_](std::error_code ec,
                                                                             reply rep) {
        if (ec || r != self->reader_)
            return;
        self->reading_ = self->blocking_ = false;
        self->drain_next_ = rep.type == reply::kind::array && rep.elements.size() == 2;
        if (self->drain_next_)
            self->arrived(rep.elements[0].str, rep.elements[1].str);
        // else: nil, woken by CLIENT UNBLOCK: issued again with the current keys
        self->read();
    });
}

/// One `RPOP` per pending key, pipelined; then BRPOP again, or another pass if any had one.
void crawlab_endpoint::drain()
{
    reading_ = true;
    auto remaining = std::make_shared<std::size_t>(pending_.size());
    auto found = std::make_shared<bool>(false);
    for (auto& [key, w] : pending_) {
        reader_->exec({"RPOP", key}, [self = shared_from_this(), r = reader_, key, remaining,
                                      found](std::error_code ec, reply rep) {
            if (ec || r != self->reader_)
                return;
            if (rep.type == reply::kind::string) {
                *found = true;
                self->arrived(key, rep.str);
            }
            if (--*remaining != 0)
                return;
            self->reading_ = false;
            self->drain_next_ = *found;
            self->read();
        });
    }
}

/// Makes the running BRPOP return when it does not watch every key.
void crawlab_endpoint::wake()
{
    if (waking_ || !blocking_ || read_version_ == keys_version_ || reader_id_.empty())
        return;
    waking_ = true;
    cmd_->exec({"CLIENT", "UNBLOCK", reader_id_},
               [self = shared_from_this(), c = cmd_](std::error_code ec, reply rep) {
                   if (c != self->cmd_)
                       return;
                   self->waking_ = false;
                   // 0: the reader was not blocked: its BRPOP has not reached Redis yet, or
                   // has returned. In the first case, try again.
                   if (!ec && rep.type == reply::kind::integer && rep.integer == 0)
                       self->wake();
               });
}

void crawlab_endpoint::arrived(const std::string& key, const std::string& value)
{
    auto it = pending_.find(key);
    if (it == pending_.end())
        return; // the call gave up on it
    auto w = std::move(it->second);
    pending_.erase(it);
    if (w.id == 0)
        return; // a notify's reply: nobody waits for it
    if (value.size() > w.box->max_frame_size())
        return w.box->fail(w.id, mailroom::error::frame_too_large,
                           "Crawlab reply of " + std::to_string(value.size()) + " bytes");
    crawlab::message m;
    if (auto problem = crawlab::decode(value, m); !problem.empty())
        return w.box->fail(w.id, mailroom::error::protocol_error,
                           "malformed Crawlab reply (" + problem + ")");
    if (!m.error.empty())
        return w.box->fail(w.id, mailroom::error::remote_error, m.error);
    w.box->succeed(w.id, m.result);
}

void crawlab_endpoint::arm(steady_clock::time_point deadline)
{
    if (deadline >= armed_for_)
        return;
    armed_for_ = deadline;
    expiry_.expires_at(deadline);
    expiry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec)
            self->expire();
    });
}

/// Stops watching the keys of calls past their deadline. The station has timed them out
/// already; a call without a timeout is completed here, with `timeout`.
void crawlab_endpoint::expire()
{
    armed_for_ = steady_clock::time_point::max();
    const auto now = steady_clock::now();
    auto next = steady_clock::time_point::max();
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline > now) {
            next = std::min(next, it->second.deadline);
            ++it;
            continue;
        }
        auto w = std::move(it->second);
        it = pending_.erase(it);
        if (w.id != 0)
            w.box->fail(w.id, mailroom::error::timeout, "no Crawlab reply in time");
    }
    if (next != steady_clock::time_point::max())
        arm(next);
}

void crawlab_endpoint::connect()
{
    state_ = state::connecting;
    asio::any_io_executor ex = strand_;
    cmd_ = connection::create(ex, where_, options_.connect_timeout);
    reader_ = connection::create(ex, where_, options_.connect_timeout);
    connect_both(cmd_, reader_, strand_,
                 [self = shared_from_this(), cmd = cmd_](std::error_code ec) {
                     if (cmd == self->cmd_)
                         self->connected(ec);
                 });
}

void crawlab_endpoint::connected(std::error_code ec)
{
    auto waiters = std::move(waiters_);
    waiters_.clear();
    if (ec) {
        state_ = state::down;
        cmd_->close();
        reader_->close();
        next_attempt_ = steady_clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        for (auto& w : waiters)
            w(ec);
        return;
    }
    state_ = state::up;
    backoff_ = options_.min_backoff;
    auto self = shared_from_this();
    auto lost = [self, cmd = cmd_](std::error_code) {
        asio::post(self->strand_, [self, cmd] {
            if (cmd == self->cmd_)
                self->lose();
        });
    };
    cmd_->on_lost(lost);
    reader_->on_lost(lost);
    reader_id_.clear();
    // Ahead of every BRPOP on the same connection, so it is known before one can block.
    reader_->exec({"CLIENT", "ID"}, [self, r = reader_](std::error_code ec, reply rep) {
        if (ec || r != self->reader_ || rep.type != reply::kind::integer)
            return;
        self->reader_id_ = std::to_string(rep.integer);
        self->wake();
    });
    for (auto& w : waiters)
        w({});
    if (users_ == 0)
        lose();
}

void crawlab_endpoint::lose()
{
    if (state_ != state::up)
        return;
    state_ = state::down;
    cmd_->close();
    reader_->close();
    reading_ = blocking_ = drain_next_ = waking_ = flush_posted_ = false;
    batches_.clear();
    batch_keys_.clear();
    // The calls in flight complete with the close of their mail boxes (`disconnected`).
    pending_.clear();
    expiry_.cancel();
    armed_for_ = steady_clock::time_point::max();
    auto boxes = std::move(boxes_);
    boxes_.clear();
    for (auto& m : boxes)
        m->lost(make_error_code(error::connection_lost));
}

} // namespace mailroom::redis::detail
