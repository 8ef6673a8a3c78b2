// Binding an implementation whose result differs from the declaration does not compile.
#include "remote/contract.hpp"

#include <boost/asio/awaitable.hpp>

struct impl {
    int add(int a, int b) { return a + b; }
    std::string greet(std::string n) { return n; }
#ifdef MAILROOM_COMPILE_FAIL
    boost::asio::awaitable<std::string> slow_double(int) { co_return "x"; }
#else
    boost::asio::awaitable<int> slow_double(int x) { co_return x; }
#endif
    void lookup(std::string, int, mailroom::reply_callback<std::map<std::string, int>>) {}
    void touch(std::string) {}
    std::string whoami() { return {}; }
    int boom(std::string) { return 0; }
    void ping(int) {}
};

void bind(mailroom::dispatcher& d, impl& i) { mailroom::test::game_remote::bind(d, i); }
