#include "transports/raw_links.hpp"
#include "transports/under_test.hpp"

#include "support/test_certificate.hpp"

#include <mailroom/tcp.hpp>
#include <mailroom/ws.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <mutex>

namespace mailroom::test {
namespace {

namespace ip = boost::asio::ip;

/// A TCP port bound without listening: connects to it are refused.
class reserved_port final : public reserved_address {
public:
    reserved_port(asio::io_context& ioc, server_info at) : a_(ioc)
    {
        a_.open(ip::tcp::v4());
        a_.set_option(asio::socket_base::reuse_address(true));
        a_.bind({ip::make_address(at.host), 0});
        at.port = a_.local_endpoint().port();
        address = std::move(at);
    }
    void release() override { a_.close(); }

private:
    ip::tcp::acceptor a_;
};

/// What tcp and ws share: addresses on 127.0.0.1, and TLS from one generated certificate.
class tcp_family : public transport_under_test {
public:
    tcp_family(std::string transport, bool tls) : transport_(std::move(transport)), tls_(tls) {}

    std::string name() const override { return tls_ ? transport_ + "_tls" : transport_; }

    server_info fresh_address() const override
    {
        server_info at{.host = "127.0.0.1", .port = 0, .transport = transport_};
        if (tls_) {
            // As a shared servers.json would have it: the server reads cert and key, its
            // clients trust the CA.
            const auto& cert = certificate();
            at.options["tls_cert"] = cert.cert_file().string();
            at.options["tls_key"] = cert.key_file().string();
            at.options["tls_ca"] = cert.cert_file().string();
        }
        return at;
    }

    std::unique_ptr<reserved_address> reserve(asio::io_context& ioc) const override
    {
        return std::make_unique<reserved_port>(ioc, fresh_address());
    }

protected:
    bool tls() const { return tls_; }

private:
    const test_certificate& certificate() const
    {
        std::lock_guard lock(mu_);
        if (!cert_)
            cert_ = std::make_unique<test_certificate>("conformance");
        return *cert_;
    }

    std::string transport_;
    bool tls_;
    mutable std::mutex mu_;
    mutable std::unique_ptr<test_certificate> cert_;
};

class tcp_under_test final : public tcp_family {
public:
    tcp_under_test(bool tls, tcp::stream_options client_stream)
        : tcp_family("tcp", tls), client_stream_(client_stream)
    {
    }

    mailbox_factory make_mailbox_factory() const override
    {
        return tcp::make_mailbox_factory(client_stream_);
    }

    std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, const server_info& at,
                                            std::size_t max_frame_size) const override
    {
        return tcp::make_acceptor(std::move(ex), {.host = at.host,
                                                  .port = at.port,
                                                  .max_frame_size = max_frame_size,
                                                  .tls = tcp::tls_for(at)});
    }

    server_info address_of(const acceptor& a, server_info at) const override
    {
        at.port = dynamic_cast<const tcp::acceptor&>(a).port();
        return at;
    }

    std::unique_ptr<raw_link> connect_raw(asio::io_context& ioc, const server_info& at) const override
    {
        return make_tcp_raw_link(ioc, at, tls());
    }

private:
    tcp::stream_options client_stream_;
};

class ws_under_test final : public tcp_family {
public:
    explicit ws_under_test(bool tls) : tcp_family("ws", tls) {}

    mailbox_factory make_mailbox_factory() const override { return ws::make_mailbox_factory(); }

    server_info fresh_address() const override
    {
        auto at = tcp_family::fresh_address();
        at.options["ws_path"] = "/mailroom";
        at.options["ws_token"] = "conformance-token";
        return at;
    }

    std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, const server_info& at,
                                            std::size_t max_frame_size) const override
    {
        return ws::make_acceptor(std::move(ex), {.host = at.host,
                                                 .port = at.port,
                                                 .path = at.options.at("ws_path"),
                                                 .token = at.options.at("ws_token"),
                                                 .max_frame_size = max_frame_size,
                                                 .tls = tcp::tls_for(at)});
    }

    server_info address_of(const acceptor& a, server_info at) const override
    {
        at.port = dynamic_cast<const ws::acceptor&>(a).port();
        return at;
    }

    std::unique_ptr<raw_link> connect_raw(asio::io_context& ioc, const server_info& at) const override
    {
        return make_ws_raw_link(ioc, at, tls());
    }
};

} // namespace

transport_param make_tcp_under_test(bool tls, tcp::stream_options client_stream)
{
    return std::make_shared<tcp_under_test>(tls, client_stream);
}

transport_param make_ws_under_test(bool tls) { return std::make_shared<ws_under_test>(tls); }

} // namespace mailroom::test
