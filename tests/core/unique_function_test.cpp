#include <mailroom/detail/unique_function.hpp>

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <utility>

namespace {

using mailroom::detail::unique_function;

struct counted {
    static inline int alive = 0;
    counted() { ++alive; }
    counted(const counted&) { ++alive; }
    counted(counted&&) noexcept { ++alive; }
    ~counted() { --alive; }
};

TEST(UniqueFunction, HoldsMoveOnlyCallables)
{
    auto p = std::make_unique<int>(41);
    unique_function<int(int)> f = [p = std::move(p)](int d) { return *p + d; };
    EXPECT_TRUE(f);
    EXPECT_EQ(f(1), 42);
    unique_function<int(int)> g = std::move(f);
    EXPECT_FALSE(f);
    EXPECT_EQ(g(2), 43);
}

TEST(UniqueFunction, SmallAndLargeCallablesAreDestroyedOnce)
{
    counted::alive = 0;
    {
        unique_function<void()> small = [c = counted{}] {};
        std::array<char, 512> pad{};
        unique_function<void()> large = [c = counted{}, pad] { (void)pad; };
        EXPECT_EQ(counted::alive, 2);
        unique_function<void()> a = std::move(small);
        unique_function<void()> b = std::move(large);
        EXPECT_EQ(counted::alive, 2) << "moving relocates, it does not copy";
        a = std::move(b); // a's callable is destroyed, b's moves in
        EXPECT_EQ(counted::alive, 1);
        a = nullptr;
        EXPECT_EQ(counted::alive, 0);
        EXPECT_FALSE(a);
    }
    EXPECT_EQ(counted::alive, 0);
}

TEST(UniqueFunction, PassesArgumentsThrough)
{
    unique_function<std::string(std::string&&, const std::string&)> f =
        [](std::string&& a, const std::string& b) { return std::move(a) + b; };
    std::string b = "def";
    EXPECT_EQ(f(std::string("abc"), b), "abcdef");
}

} // namespace
