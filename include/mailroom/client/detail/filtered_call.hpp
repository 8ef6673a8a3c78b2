#pragma once

#include <mailroom/client/call_options.hpp>
#include <mailroom/client/detail/call_handler.hpp>
#include <mailroom/filters/filter_chain.hpp>
#include <mailroom/protocol/frame.hpp>

#include <memory>
#include <string>

namespace mailroom {
class mail_station;
}

namespace mailroom::detail {

/// A method path that owns its names.
struct owned_path {
    explicit owned_path(const protocol::method_path& p)
        : ns(p.ns), server_type(p.server_type), service(p.service), method(p.method)
    {
    }
    std::string ns, server_type, service, method;
};

/// Everything a filtered call needs; `on_result` for a call, `on_sent` for a notify.
struct filtered_call_args {
    mail_station* station;
    std::shared_ptr<const client_filters::table> filters;
    const route_param* param;
    std::string target;
    std::uint64_t id; // 0: a notify
    owned_path path;
    frame f;
    call_options options;
    call_handler on_result;
    status_handler on_sent;
};

/// Runs a call through the client filters, then hands it to the station (src/client).
void send_filtered(filtered_call_args args);

} // namespace mailroom::detail
