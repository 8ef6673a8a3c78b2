#pragma once

// Crawlab mode's two halves, private to the transport: make_acceptor and
// make_mailbox_factory hand a server over to them when its format is crawlab.

#include <mailroom/client/mailbox.hpp>
#include <mailroom/redis/options.hpp>
#include <mailroom/redis/url.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server_info.hpp>

#include <memory>
#include <optional>
#include <string>

namespace mailroom::redis::detail {

/// The acceptor of a Crawlab-style node (src/crawlab_acceptor.cpp).
std::shared_ptr<acceptor> make_crawlab_acceptor(asio::any_io_executor ex, acceptor_options o,
                                                url where);

/// The state a mail-box factory keeps for its Crawlab-mode mail boxes: one endpoint per Redis.
class crawlab_hub;

std::shared_ptr<crawlab_hub> make_crawlab_hub(const client_options& o);

/// A mail box that calls the Crawlab-style node `ctx.server` through Redis `where`
/// (`url_text` names the endpoint it shares).
std::shared_ptr<mailbox> make_crawlab_mailbox(const std::shared_ptr<crawlab_hub>& hub,
                                              const mailbox_context& ctx, const url& where,
                                              const std::string& url_text, std::string prefix);

/// The format a server entry asks for (`"redis_format"`), or `fallback`; nothing if the entry
/// names an unknown format.
std::optional<wire_format> format_of(const server_info& server, wire_format fallback);

/// The key prefix of a Crawlab-mode server entry (`"redis_prefix"`), or `fallback`.
std::string prefix_of(const server_info& server, const std::string& fallback);

} // namespace mailroom::redis::detail
