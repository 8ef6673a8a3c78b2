#include <mailroom/crc32.hpp>
// Test that header file is self-contained.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using mailroom::crc32;

TEST(Crc32, EmptyInputIsZero)
{
    EXPECT_EQ(crc32(""), 0x00000000u);
}

TEST(Crc32, MatchesTheStandardCheckValue)
{
    EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
}

TEST(Crc32, MatchesZlibOnKnownStrings)
{
    EXPECT_EQ(crc32("hello"), 0x3610A686u);
    EXPECT_EQ(crc32("a"), 0xE8B7BE43u);
    EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
    EXPECT_EQ(crc32("12345"), 0xCBF53A1Cu);
}

TEST(Crc32, TreatsBytesAsUnsigned)
{
    EXPECT_EQ(crc32(std::string_view("\xff", 1)), 0xFF000000u);
}

TEST(Crc32, HashesEmbeddedNulBytes)
{
    const std::string with_nul("a\0b", 3);
    EXPECT_NE(crc32(with_nul), crc32("a"));
    EXPECT_NE(crc32(with_nul), crc32("ab"));
    EXPECT_NE(crc32(std::string_view("\0", 1)), crc32(""));
}

} // namespace
