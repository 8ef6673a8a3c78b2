#include "transports/raw_links.hpp"
#include "transports/under_test.hpp"

#include "support/test_certificate.hpp"

#include <uds_transport.hpp>

#include <atomic>
#include <filesystem>

namespace mailroom::test {
namespace {

/// A socket path nobody listens on: connects fail with "no such file" until a server binds.
class reserved_path final : public reserved_address {
public:
    explicit reserved_path(server_info at) { address = std::move(at); }
    void release() override {}
};

class unix_under_test final : public transport_under_test {
public:
    ~unix_under_test() override
    {
        std::error_code ignored;
        if (!dir_.empty())
            std::filesystem::remove_all(dir_, ignored);
    }

    std::string name() const override { return "unix"; }

    mailbox_factory make_mailbox_factory() const override { return uds::make_mailbox_factory(); }

    server_info fresh_address() const override
    {
        auto path = directory() / ("s" + std::to_string(next_.fetch_add(1)) + ".sock");
        return {.host = "localhost", .port = 1, .transport = "unix",
                .options = {{"path", path.string()}}};
    }

    std::unique_ptr<reserved_address> reserve(asio::io_context&) const override
    {
        return std::make_unique<reserved_path>(fresh_address());
    }

    std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, const server_info& at,
                                            std::size_t max_frame_size) const override
    {
        return uds::make_acceptor(std::move(ex),
                                  {.path = uds::socket_path(at), .max_frame_size = max_frame_size});
    }

    server_info address_of(const acceptor&, server_info at) const override { return at; }

    std::unique_ptr<raw_link> connect_raw(asio::io_context& ioc, const server_info& at) const override
    {
        return make_unix_raw_link(ioc, uds::socket_path(at));
    }

private:
    const std::filesystem::path& directory() const
    {
        std::lock_guard lock(mu_);
        if (dir_.empty())
            dir_ = make_temp_dir("uds");
        return dir_;
    }

    mutable std::mutex mu_;
    mutable std::filesystem::path dir_;
    mutable std::atomic<int> next_{0};
};

} // namespace

transport_param make_unix_under_test() { return std::make_shared<unix_under_test>(); }

} // namespace mailroom::test
