#include "server_slot.hpp"

#include <mailroom/client/mail_station.hpp>
#include <mailroom/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>

namespace mailroom {

mail_station::mail_station(executor_type ex, mail_station_options options)
    : shared_(std::make_shared<detail::station_shared>(std::move(ex), std::move(options))),
      table_(std::make_shared<const server_table>())
{
}

mail_station::~mail_station() { close(); }

mail_station::executor_type mail_station::get_executor() const noexcept { return shared_->executor; }

const mail_station::executor_type& mail_station::executor_ref() const noexcept
{
    return shared_->executor;
}

const mail_station_options& mail_station::options() const noexcept { return shared_->options; }

void mail_station::add_transport(std::string name, mailbox_factory factory)
{
    std::lock_guard lock(mu_);
    transports_[std::move(name)] = std::move(factory);
}

std::shared_ptr<const server_table> mail_station::servers() const
{
    std::lock_guard lock(mu_);
    return table_;
}

void mail_station::add_server(server_info server)
{
    std::vector<server_info> next = servers()->all();
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const server_info& s) { return s.id == server.id; });
    if (it != next.end())
        *it = std::move(server);
    else
        next.push_back(std::move(server));
    replace_servers(std::move(next));
}

void mail_station::remove_server(std::string_view id)
{
    std::vector<server_info> next = servers()->all();
    std::erase_if(next, [&](const server_info& s) { return s.id == id; });
    replace_servers(std::move(next));
}

void mail_station::replace_servers(std::vector<server_info> servers)
{
    auto table = std::make_shared<const server_table>(std::move(servers)); // throws on duplicates
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    {
        std::lock_guard lock(mu_);
        for (auto it = slots_.begin(); it != slots_.end();) {
            const server_info* now = table->find(it->first);
            if (!now || !(*now == it->second->info())) {
                retired.push_back(std::move(it->second));
                it = slots_.erase(it);
            } else {
                ++it;
            }
        }
        table_ = std::move(table);
    }
    retire(std::move(retired));
}

void mail_station::retire(std::vector<std::shared_ptr<detail::server_slot>> slots)
{
    for (auto& s : slots)
        s->shutdown(error::disconnected);
}

std::shared_ptr<detail::server_slot> mail_station::slot_for(std::string_view server_id,
                                                           std::error_code& ec)
{
    std::lock_guard lock(mu_);
    if (closed_) {
        ec = error::cancelled;
        return nullptr;
    }
    if (server_id.empty()) {
        ec = error::no_target_server;
        return nullptr;
    }
    if (auto it = slots_.find(server_id); it != slots_.end())
        return it->second;
    const server_info* info = table_->find(server_id);
    if (!info) {
        ec = error::unknown_server;
        return nullptr;
    }
    auto t = transports_.find(info->transport);
    if (t == transports_.end()) {
        ec = error::unknown_transport;
        return nullptr;
    }
    auto slot = std::make_shared<detail::server_slot>(shared_, *info, t->second);
    slots_.emplace(info->id, slot);
    return slot;
}

void mail_station::send_request(std::string_view server_id, std::uint64_t id, frame f,
                                const call_options& options, detail::call_handler handler)
{
    const auto timeout =
        options.timeout.count() > 0 ? options.timeout : shared_->options.request_timeout;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::error_code ec;
    // Peers share the frame limit: a frame the server would refuse (closing the link and
    // every call on it) fails alone, here.
    auto slot = f.body_size() > shared_->options.max_frame_size ? nullptr : slot_for(server_id, ec);
    if (!slot) {
        if (!ec)
            ec = error::frame_too_large;
        asio::post(shared_->executor, [h = std::move(handler), ec, keep = shared_]() mutable {
            h(ec, nullptr);
        });
        return;
    }
    slot->call(id, std::move(f), deadline, timeout, std::move(handler), options.cancel.get());
}

void mail_station::send_notify(std::string_view server_id, frame f, detail::status_handler handler)
{
    std::error_code ec;
    auto slot = f.body_size() > shared_->options.max_frame_size ? nullptr : slot_for(server_id, ec);
    if (!slot) {
        if (!ec)
            ec = error::frame_too_large;
        asio::post(shared_->executor, [h = std::move(handler), ec, keep = shared_]() mutable { h(ec); });
        return;
    }
    slot->notify(std::move(f), std::move(handler));
}

void mail_station::close()
{
    std::vector<std::shared_ptr<detail::server_slot>> retired;
    {
        std::lock_guard lock(mu_);
        closed_ = true;
        for (auto& [id, slot] : slots_)
            retired.push_back(std::move(slot));
        slots_.clear();
    }
    for (auto& s : retired)
        s->shutdown(error::cancelled);
}

mail_station::stats mail_station::counters() const
{
    const auto& c = shared_->counters;
    return {c.queue_full.load(), c.timeouts.load(),      c.disconnected.load(),
            c.connect_failed.load(), c.cancelled.load(), c.late_replies.load()};
}

std::size_t mail_station::pending() const
{
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [id, slot] : slots_)
        n += slot->pending();
    return n;
}

} // namespace mailroom
