#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "echo_load.hpp"
#include "options.hpp"

namespace mailroom::load {

/// The server side of a load run, whatever it speaks.
class echo_server {
public:
    virtual ~echo_server() = default;
    /// The bound port (0 for a Unix socket or Redis).
    virtual std::uint16_t port() const = 0;
    /// Client links currently open.
    virtual std::size_t connections() const = 0;
    /// Calls held unanswered (the --hold-calls scenario).
    virtual std::size_t held() const { return 0; }
    /// Answers the held calls.
    virtual void release_held() {}
    /// Stops listening and closes every link. Idempotent.
    virtual void stop() = 0;
};

/// The echo server for `o.transport` on `o.host:o.port`; throws std::runtime_error if it
/// cannot listen.
std::unique_ptr<echo_server> make_echo_server(boost::asio::io_context& ioc, const load_options& o);

/// The client side for `o.transport`, with `o.connections` links to `port`, reporting to
/// `load`. Throws std::runtime_error if it cannot connect (raw connects at once; mailroom
/// on the first call).
std::unique_ptr<caller> make_caller(boost::asio::io_context& ioc, const load_options& o,
                                    std::uint16_t port, echo_load& load);

// The implementations.
std::unique_ptr<echo_server> make_mailroom_server(boost::asio::io_context& ioc,
                                                  const load_options& o);
std::unique_ptr<caller> make_mailroom_caller(boost::asio::io_context& ioc, const load_options& o,
                                             std::uint16_t port, echo_load& load);
std::unique_ptr<echo_server> make_raw_server(boost::asio::io_context& ioc, const load_options& o);
std::unique_ptr<caller> make_raw_caller(boost::asio::io_context& ioc, const load_options& o,
                                        std::uint16_t port, echo_load& load);
/// raw-redis (raw_redis.cpp) and raw-crawlab (raw_crawlab.cpp), on `o.redis_url`.
std::unique_ptr<echo_server> make_raw_redis_server(boost::asio::io_context& ioc,
                                                   const load_options& o);
std::unique_ptr<caller> make_raw_redis_caller(boost::asio::io_context& ioc, const load_options& o,
                                              echo_load& load);
std::unique_ptr<echo_server> make_raw_crawlab_server(boost::asio::io_context& ioc,
                                                     const load_options& o);
std::unique_ptr<caller> make_raw_crawlab_caller(boost::asio::io_context& ioc,
                                                const load_options& o, echo_load& load);

} // namespace mailroom::load
