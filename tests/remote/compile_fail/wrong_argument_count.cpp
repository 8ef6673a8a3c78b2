// Calling a typed stub with too few arguments does not compile.
#include "remote/contract.hpp"

void call(mailroom::test::game_rpc& rpc)
{
#ifdef MAILROOM_COMPILE_FAIL
    rpc.game.gameRemote.add("k", 2, [](std::error_code, int) {});
#else
    rpc.game.gameRemote.add("k", 2, 3, [](std::error_code, int) {});
#endif
}
