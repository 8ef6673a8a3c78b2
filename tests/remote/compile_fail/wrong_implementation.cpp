// Binding an implementation whose parameters differ from the declaration does not compile.
#include "remote/contract.hpp"

#include <boost/asio/awaitable.hpp>

struct impl {
#ifdef MAILROOM_COMPILE_FAIL
    int add(int a, std::string b) { return a + static_cast<int>(b.size()); }
#else
    int add(int a, int b) { return a + b; }
#endif
    std::string greet(std::string n) { return n; }
    boost::asio::awaitable<int> slow_double(int x) { co_return x; }
    void lookup(std::string, int, mailroom::reply_callback<std::map<std::string, int>>) {}
    void touch(std::string) {}
    std::string whoami() { return {}; }
    int boom(std::string) { return 0; }
    void ping(int) {}
};

void bind(mailroom::dispatcher& d, impl& i) { mailroom::test::game_remote::bind(d, i); }
