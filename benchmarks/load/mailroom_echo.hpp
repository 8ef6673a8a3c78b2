#pragma once

#include <mailroom/client/mail_station.hpp>
#include <mailroom/client/proxy.hpp>
#include <mailroom/client/router.hpp>
#include <mailroom/protocol/message.hpp>
#include <mailroom/server/dispatcher.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace mailroom::load {

/// The id the echo server announces and the client expects.
inline constexpr std::string_view echo_server_id = "echo-1";

/// `echoRemote.echo` on servers of type "echo".
protocol::method_path echo_path();

/// `echoRemote.hold`: the server keeps the call unanswered until released (memory scenario).
protocol::method_path hold_path();

/// Binds `echoRemote.echo(std::string) -> std::string`.
void bind_echo(dispatcher& d);

/// The socket path of a `--transport unix` run: `--host` when it contains a '/', else a
/// fresh path in the temp directory, one per process.
std::string unix_socket_path(const load_options& o);

/// The frame limit both ends use: the default 8 MiB, or more if the payload needs it.
std::size_t frame_limit(const load_options& o) noexcept;

/** The mailroom client of a load run: `o.connections` mail stations, each knowing the one
    echo server (so each opens its own TCP link: a station has one mail box per server id),
    sharing one router.
*/
class mailroom_client {
public:
    mailroom_client(boost::asio::io_context& ioc, const load_options& o, std::uint16_t port,
                    std::size_t stations);

    proxy& rpc(std::size_t k) noexcept { return *proxies_[k]; }
    std::size_t size() const noexcept { return proxies_.size(); }
    /// Closes every station; calls still pending complete with `cancelled`.
    void close();

private:
    router router_;
    std::unique_ptr<metrics::registry> metrics_; // --metrics
    std::vector<std::unique_ptr<mail_station>> stations_;
    std::vector<std::unique_ptr<proxy>> proxies_;
};

} // namespace mailroom::load
