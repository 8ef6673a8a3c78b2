// Option structs as users spell them: designated initialisers that name only some members
// (built with -Wall -Wextra -Werror by run.cmake, MODE=warnings).
#include <mailroom/ws.hpp>

int main()
{
    const mailroom::ws::acceptor_options acceptor{.port = 0};
    const mailroom::ws::client_options client{.path = "/mailroom"};
    const mailroom::ws::client_options secure{.token = "t", .tls = {.enabled = true}};
    const mailroom::ws::stream_options stream{.keepalive_interval = std::chrono::seconds(5)};
    return acceptor.port == 0 && client.token.empty() && secure.tls.enabled &&
                   stream.keepalive_interval.count() == 5'000
               ? 0
               : 1;
}
