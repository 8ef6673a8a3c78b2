// Calling a typed stub with an argument of the wrong type does not compile.
#include "remote/contract.hpp"

void call(mailroom::test::game_rpc& rpc)
{
#ifdef MAILROOM_COMPILE_FAIL
    rpc.game.gameRemote.add("k", std::string("two"), 3, [](std::error_code, int) {});
#else
    rpc.game.gameRemote.add("k", 2, 3, [](std::error_code, int) {});
#endif
}
