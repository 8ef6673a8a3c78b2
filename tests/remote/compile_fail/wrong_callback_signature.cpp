// A callback that cannot take the method's result does not compile.
#include "remote/contract.hpp"

#include <string>

void call(mailroom::test::game_rpc& rpc)
{
#ifdef MAILROOM_COMPILE_FAIL
    rpc.game.gameRemote.add("k", 2, 3, [](std::error_code, std::string) {});
#else
    rpc.game.gameRemote.add("k", 2, 3, [](std::error_code, int) {});
#endif
}
