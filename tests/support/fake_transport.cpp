#include "fake_transport.hpp"

namespace mailroom::test {

void fake_mailbox::send(frame f)
{
    std::lock_guard lock(mu_);
    auto body = f.body();
    sent_.emplace_back(body.begin(), body.end());
}

void fake_mailbox::finish_connect(std::error_code ec)
{
    auto h = std::move(connect_);
    h(ec);
}

void fake_mailbox::ack_hello(std::error_code ec, std::string peer_id)
{
    frame f;
    protocol::encode_hello_ack(f, peer_id == "\x01" ? server_.id : peer_id, ec,
                               ec ? ec.message() : std::string());
    deliver(f);
}

void fake_mailbox::open()
{
    finish_connect();
    ack_hello();
}

void fake_mailbox::respond_error(std::uint64_t id, std::error_code ec, std::string_view message)
{
    frame f;
    protocol::encode_error_response(f, id, ec, message);
    deliver(f);
}

void fake_mailbox::drop(std::error_code ec) { handler_->on_close(ec); }

std::vector<protocol::message> fake_mailbox::sent_messages() const
{
    // Views in the decoded messages point into sent_ (whose elements never move their bytes)
    // and into zone_.
    std::lock_guard lock(mu_);
    std::vector<protocol::message> out;
    for (const auto& body : sent_) {
        protocol::message m;
        if (!protocol::decode(body, zone_, m))
            out.push_back(m);
    }
    return out;
}

std::vector<std::uint64_t> fake_mailbox::sent_request_ids() const
{
    std::vector<std::uint64_t> ids;
    for (const auto& m : sent_messages())
        if (m.kind == protocol::message_kind::request)
            ids.push_back(m.request.id);
    return ids;
}

std::size_t fake_mailbox::sent_count() const
{
    std::lock_guard lock(mu_);
    return sent_.size();
}

mailbox_factory fake_transport::factory()
{
    return [this](const mailbox_context& ctx) -> std::shared_ptr<mailbox> {
        auto box = std::make_shared<fake_mailbox>(ctx);
        std::lock_guard lock(mu_);
        boxes_.push_back(box);
        return box;
    };
}

std::shared_ptr<fake_mailbox> fake_transport::last() const
{
    std::lock_guard lock(mu_);
    return boxes_.empty() ? nullptr : boxes_.back();
}

std::size_t fake_transport::created() const
{
    std::lock_guard lock(mu_);
    return boxes_.size();
}

} // namespace mailroom::test
