#pragma once

#include "world.hpp"

#include <cstddef>
#include <mutex>
#include <set>
#include <string>

namespace world {

/** A client filter on the connector: calls to a server that is closed for maintenance fail
    with `server_busy` before they leave; the others are counted.
*/
class gatekeeper : public mailroom::client_filter {
public:
    void before(mailroom::filter_call& call, mailroom::filter_next next) override;

    void close_server(const std::string& id);
    void open_server(const std::string& id);
    std::size_t let_through() const;

private:
    mutable std::mutex mu_;
    std::set<std::string> closed_;
    std::size_t let_through_ = 0;
};

/// The connector's scripted session against the area servers; 0 if every answer was right.
mailroom::asio::awaitable<int> play(mailroom::app<world_rpc>& app, gatekeeper& gate);

} // namespace world
