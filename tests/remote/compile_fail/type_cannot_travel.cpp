// A remote whose parameter type has no msgpack adaptor does not compile, with one message
// naming the type and one naming the method; with MSGPACK_DEFINE_MAP it does.
#include <mailroom/remote.hpp>

#include <string>

namespace test {

struct position {
    int x = 0;
    int y = 0;
#ifndef MAILROOM_COMPILE_FAIL
    MSGPACK_DEFINE_MAP(x, y)
#endif
};

MAILROOM_REMOTE(area_remote, areaRemote, (move, position(std::string uid, position to)));

struct area {
    position move(std::string, position to) { return to; }
};

struct rpc : mailroom::rpc_base {
    using rpc_base::rpc_base;
    mailroom::server_type<"area", area_remote> area{*this};
};

void use(mailroom::dispatcher& d, area& impl, rpc& r)
{
    area_remote::bind(d, impl);
    r.area.areaRemote.move("uid-1", "uid-1", position{1, 2}, [](std::error_code, position) {});
}

} // namespace test
