#include <mailroom/error.hpp>
// Test that header file is self-contained.

#include <gtest/gtest.h>

#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using mailroom::condition;
using mailroom::error;

constexpr int first_error = static_cast<int>(error::no_target_server);
constexpr int last_error = static_cast<int>(error::auth_unavailable);
// The conditions a caller decides on; `permanent` (after them) is the station's.
constexpr int last_condition = static_cast<int>(condition::timed_out);

std::string fallback_message(int ev)
{
    return "unknown mailroom error " + std::to_string(ev);
}

// The failure policy of every code, as error.hpp documents it. Spelled out in full so that
// changing a mapping is a visible, reviewed change.
const std::vector<std::pair<error, condition>>& expected_conditions()
{
    static const std::vector<std::pair<error, condition>> table{
        {error::no_target_server, condition::retryable},
        {error::connect_failed, condition::retryable},
        {error::timeout, condition::timed_out},
        {error::disconnected, condition::disconnected},
        {error::server_busy, condition::overloaded},
        {error::queue_full, condition::overloaded},
        {error::unknown_service, condition::unimplemented},
        {error::unknown_method, condition::unimplemented},
        {error::bad_arguments, condition::failed},
        {error::remote_error, condition::failed},
        {error::frame_too_large, condition::failed},
        {error::protocol_error, condition::failed},
        {error::version_mismatch, condition::unimplemented},
        {error::cancelled, condition::failed},
        {error::unknown_transport, condition::retryable},
        {error::unknown_server, condition::retryable},
        {error::bad_result, condition::failed},
        {error::keepalive_timeout, condition::disconnected},
        {error::deadline_exceeded, condition::failed},
        {error::shutting_down, condition::retryable},
        {error::not_sent, condition::retryable},
        {error::wrong_server, condition::retryable},
        {error::not_encodable, condition::failed},
        {error::handshake_timeout, condition::failed},
        {error::auth_failed, condition::failed},
        {error::auth_required, condition::failed},
        {error::auth_unavailable, condition::failed},
    };
    return table;
}

TEST(Error, EveryEnumeratorHasTheMailroomCategory)
{
    for (int ev = first_error; ev <= last_error; ++ev) {
        std::error_code ec = static_cast<error>(ev);
        EXPECT_STREQ(ec.category().name(), "mailroom") << "value " << ev;
        EXPECT_EQ(&ec.category(), &mailroom::error_category()) << "value " << ev;
        EXPECT_EQ(ec.value(), ev);
        EXPECT_TRUE(static_cast<bool>(ec)) << "value " << ev;
    }
}

TEST(Error, EveryEnumeratorHasItsOwnMessage)
{
    std::vector<std::string> seen;
    for (int ev = first_error; ev <= last_error; ++ev) {
        const std::string msg = std::error_code(static_cast<error>(ev)).message();
        EXPECT_FALSE(msg.empty()) << "value " << ev;
        EXPECT_NE(msg, fallback_message(ev)) << "value " << ev << " has no message of its own";
        for (const auto& other : seen)
            EXPECT_NE(msg, other) << "value " << ev << " repeats a message";
        seen.push_back(msg);
    }
}

TEST(Error, EveryEnumeratorMapsToItsDocumentedCondition)
{
    const auto& table = expected_conditions();
    ASSERT_EQ(table.size(), static_cast<std::size_t>(last_error - first_error + 1))
        << "a new error needs its condition in this table";
    for (const auto& [e, c] : table) {
        const std::error_code ec = e;
        const std::error_condition cond = ec.default_error_condition();
        EXPECT_EQ(&cond.category(), &mailroom::condition_category()) << ec.message();
        EXPECT_EQ(cond.value(), static_cast<int>(c)) << ec.message();
        // Policies compare codes with conditions; each code matches exactly one condition.
        for (int other = static_cast<int>(condition::retryable);
             other <= last_condition; ++other)
            EXPECT_EQ(ec == static_cast<condition>(other), other == static_cast<int>(c))
                << ec.message() << " vs condition " << other;
    }
}

TEST(Error, KeyCodesMapToTheirFailurePolicy)
{
    EXPECT_EQ(std::error_code(error::connect_failed), condition::retryable);
    EXPECT_EQ(std::error_code(error::queue_full), condition::overloaded);
    EXPECT_EQ(std::error_code(error::server_busy), condition::overloaded);
    EXPECT_EQ(std::error_code(error::disconnected), condition::disconnected);
    EXPECT_EQ(std::error_code(error::unknown_method), condition::unimplemented);
    EXPECT_EQ(std::error_code(error::unknown_service), condition::unimplemented);
    EXPECT_EQ(std::error_code(error::remote_error), condition::failed);
    EXPECT_NE(std::error_code(error::remote_error), condition::retryable);
    EXPECT_NE(std::error_code(error::timeout), condition::retryable);
    EXPECT_NE(std::error_code(error::timeout), condition::disconnected);
    EXPECT_NE(std::error_code(error::deadline_exceeded), condition::retryable);
    EXPECT_EQ(std::error_code(error::not_sent), condition::retryable);
    EXPECT_NE(std::error_code(error::disconnected), condition::retryable);
}

// One cancellation code: code written against std::errc::operation_canceled (what Asio's
// operation_aborted compares equal to) still recognises mailroom's.
TEST(Error, CancelledComparesEqualToOperationCanceled)
{
    const std::error_code ec = error::cancelled;
    EXPECT_EQ(ec, std::errc::operation_canceled);
    EXPECT_EQ(ec, condition::failed);
    for (int ev = first_error; ev <= last_error; ++ev) {
        if (ev != static_cast<int>(error::cancelled)) {
            EXPECT_NE(std::error_code(static_cast<error>(ev)), std::errc::operation_canceled) << ev;
        }
    }
}

TEST(Error, ValuesThatTravelOnTheWireAreStable)
{
    EXPECT_EQ(static_cast<int>(error::no_target_server), 1);
    EXPECT_EQ(static_cast<int>(error::connect_failed), 2);
    EXPECT_EQ(static_cast<int>(error::timeout), 3);
    EXPECT_EQ(static_cast<int>(error::disconnected), 4);
    EXPECT_EQ(static_cast<int>(error::server_busy), 5);
    EXPECT_EQ(static_cast<int>(error::queue_full), 6);
    EXPECT_EQ(static_cast<int>(error::unknown_service), 7);
    EXPECT_EQ(static_cast<int>(error::unknown_method), 8);
    EXPECT_EQ(static_cast<int>(error::bad_arguments), 9);
    EXPECT_EQ(static_cast<int>(error::remote_error), 10);
    EXPECT_EQ(static_cast<int>(error::frame_too_large), 11);
    EXPECT_EQ(static_cast<int>(error::protocol_error), 12);
    EXPECT_EQ(static_cast<int>(error::version_mismatch), 13);
    EXPECT_EQ(static_cast<int>(error::cancelled), 14);
    EXPECT_EQ(static_cast<int>(error::unknown_transport), 15);
    EXPECT_EQ(static_cast<int>(error::unknown_server), 16);
    EXPECT_EQ(static_cast<int>(error::bad_result), 17);
    EXPECT_EQ(static_cast<int>(error::keepalive_timeout), 18);
    EXPECT_EQ(static_cast<int>(error::deadline_exceeded), 19);
    EXPECT_EQ(static_cast<int>(error::shutting_down), 20);
    EXPECT_EQ(static_cast<int>(error::not_sent), 21);
    EXPECT_EQ(static_cast<int>(error::wrong_server), 22);
    EXPECT_EQ(static_cast<int>(error::not_encodable), 23);
    EXPECT_EQ(static_cast<int>(error::handshake_timeout), 24);
    EXPECT_EQ(static_cast<int>(error::auth_failed), 25);
    EXPECT_EQ(static_cast<int>(error::auth_required), 26);
    EXPECT_EQ(static_cast<int>(error::auth_unavailable), 27);
}

TEST(Error, UnknownValuesGetAFallbackMessageAndFailedCondition)
{
    for (int ev : {0, last_error + 1, 1000, -1}) {
        const std::error_code ec(ev, mailroom::error_category());
        EXPECT_EQ(ec.message(), fallback_message(ev));
        EXPECT_EQ(ec.default_error_condition(), condition::failed) << ev;
    }
}

TEST(Error, ConditionCategoryIsNamedAndDescribesEveryCondition)
{
    EXPECT_STREQ(mailroom::condition_category().name(), "mailroom.condition");
    for (int c = static_cast<int>(condition::retryable); c <= last_condition; ++c) {
        const std::error_condition cond = static_cast<condition>(c);
        EXPECT_EQ(&cond.category(), &mailroom::condition_category());
        EXPECT_FALSE(cond.message().empty()) << c;
        EXPECT_NE(cond.message(), "unknown mailroom condition " + std::to_string(c)) << c;
    }
    EXPECT_EQ(std::error_condition(99, mailroom::condition_category()).message(),
              "unknown mailroom condition 99");
}

TEST(Error, CodesOfOtherCategoriesMatchNoCondition)
{
    const std::error_code refused = std::make_error_code(std::errc::connection_refused);
    const std::error_code same_value(static_cast<int>(condition::retryable),
                                     std::generic_category());
    for (int c = static_cast<int>(condition::retryable); c <= last_condition; ++c) {
        EXPECT_NE(refused, static_cast<condition>(c)) << c;
        EXPECT_NE(same_value, static_cast<condition>(c)) << c;
    }
}

TEST(Error, PermanentMarksConnectErrorsThatARetryMeetsAgain)
{
    const std::error_condition permanent = condition::permanent;
    EXPECT_EQ(&permanent.category(), &mailroom::condition_category());
    EXPECT_NE(permanent.message(), "unknown mailroom condition 7");
    EXPECT_EQ(std::error_code(error::version_mismatch), condition::permanent);
    EXPECT_EQ(std::error_code(error::wrong_server), condition::permanent);
    // ... and keep their own condition.
    EXPECT_EQ(std::error_code(error::version_mismatch), condition::unimplemented);
    EXPECT_EQ(std::error_code(error::wrong_server), condition::retryable);
    // A refused authentication meets the same refusal on every retry (issue 16).
    for (auto e : {error::auth_failed, error::auth_required, error::auth_unavailable}) {
        EXPECT_EQ(std::error_code(e), condition::permanent) << static_cast<int>(e);
        EXPECT_EQ(std::error_code(e), condition::failed) << static_cast<int>(e);
    }
    for (int ev = first_error; ev <= last_error; ++ev) {
        if (ev != static_cast<int>(error::version_mismatch) &&
            ev != static_cast<int>(error::wrong_server) &&
            ev != static_cast<int>(error::auth_failed) &&
            ev != static_cast<int>(error::auth_required) &&
            ev != static_cast<int>(error::auth_unavailable)) {
            EXPECT_NE(std::error_code(static_cast<error>(ev)), condition::permanent) << ev;
        }
    }
    EXPECT_NE(std::make_error_code(std::errc::connection_refused), condition::permanent);
}

TEST(Error, MakeErrorCodeMatchesImplicitConversion)
{
    const std::error_code implicit = error::timeout;
    EXPECT_EQ(mailroom::make_error_code(error::timeout), implicit);
    EXPECT_NE(mailroom::make_error_code(error::timeout), std::error_code(error::disconnected));
    const std::error_condition cond = condition::overloaded;
    EXPECT_EQ(mailroom::make_error_condition(condition::overloaded), cond);
}

} // namespace
