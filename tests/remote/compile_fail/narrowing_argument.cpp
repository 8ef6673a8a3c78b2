// A narrowing argument (a double for an int parameter) does not compile at a stub call; the
// same value of the declared type does.
#include "remote/contract.hpp"

void call(mailroom::test::game_rpc& rpc)
{
#ifdef MAILROOM_COMPILE_FAIL
    rpc.game.gameRemote.add("k", 1.5, 3, [](std::error_code, int) {});
#else
    short two = 2; // widening is fine
    rpc.game.gameRemote.add("k", two, 3, [](std::error_code, int) {});
#endif
}
