#include "client/pending_calls.hpp"
// Test that header file is self-contained.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace {

// The handler is the id itself, so a test sees which call a handler belongs to.
using table = mailroom::detail::pending_calls<std::uint64_t>;
using time_point = table::time_point;
using std::chrono::milliseconds;

const time_point t0 = time_point{} + std::chrono::hours(1);

time_point at(int ms)
{
    return t0 + milliseconds(ms);
}

TEST(PendingCalls, StartsEmpty)
{
    table t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.next_deadline());
    EXPECT_FALSE(t.contains(1));
    std::vector<std::uint64_t> out;
    t.take_expired(time_point::max(), out);
    t.take_all(out);
    EXPECT_TRUE(out.empty());
}

TEST(PendingCalls, TakeReturnsTheHandlerOfAnInsertedCall)
{
    table t;
    ASSERT_TRUE(t.insert(7, at(100), 7));
    EXPECT_TRUE(t.contains(7));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), at(100));
    EXPECT_EQ(t.take(7), std::optional<std::uint64_t>(7));
    EXPECT_FALSE(t.contains(7));
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.next_deadline());
}

TEST(PendingCalls, RejectsADuplicateIdAndKeepsTheFirstCall)
{
    table t;
    ASSERT_TRUE(t.insert(7, at(100), 1));
    EXPECT_FALSE(t.insert(7, at(5), 2));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), at(100));
    EXPECT_EQ(t.take(7), std::optional<std::uint64_t>(1));
}

TEST(PendingCalls, TakeOfAnUnknownIdReturnsNothing)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(10), 1));
    EXPECT_FALSE(t.take(2));
    EXPECT_EQ(t.take(1), std::optional<std::uint64_t>(1));
    // A late reply to a call that was already taken.
    EXPECT_FALSE(t.take(1));
    EXPECT_TRUE(t.empty());
}

TEST(PendingCalls, IdZeroFromAPeerTakesNoCall)
{
    // 0 marks an empty cell of the index: a response with id 0 (a peer's bug, or pomelo's
    // answer without an id) once completed whichever call an empty cell pointed to.
    table t;
    for (std::uint64_t id = 1; id <= 5; ++id)
        ASSERT_TRUE(t.insert(id, at(10), id));
    EXPECT_FALSE(t.contains(0));
    EXPECT_FALSE(t.take(0));
    EXPECT_EQ(t.size(), 5u);
    for (std::uint64_t id = 1; id <= 5; ++id)
        EXPECT_EQ(t.take(id), std::optional<std::uint64_t>(id));
}

TEST(PendingCalls, TakeExpiredReturnsExactlyTheExpiredCallsInDeadlineOrder)
{
    table t;
    const std::vector<std::pair<std::uint64_t, int>> calls{{1, 50}, {2, 10}, {3, 30}, {4, 100},
                                                           {5, 70}, {6, 40}, {7, 90}};
    for (auto [id, ms] : calls)
        ASSERT_TRUE(t.insert(id, at(ms), id));

    std::vector<std::uint64_t> out;
    t.take_expired(at(50), out); // a deadline equal to now has expired
    EXPECT_EQ(out, (std::vector<std::uint64_t>{2, 3, 6, 1}));
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.next_deadline(), at(70));
    for (std::uint64_t id : {4u, 5u, 7u})
        EXPECT_TRUE(t.contains(id)) << id;
    for (std::uint64_t id : {1u, 2u, 3u, 6u})
        EXPECT_FALSE(t.contains(id)) << id;
}

TEST(PendingCalls, TakeExpiredAppendsToTheOutput)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(1), 1));
    ASSERT_TRUE(t.insert(2, at(2), 2));
    std::vector<std::uint64_t> out{99};
    t.take_expired(at(1), out);
    EXPECT_EQ(out, (std::vector<std::uint64_t>{99, 1}));
    t.take_expired(at(0), out);
    EXPECT_EQ(out, (std::vector<std::uint64_t>{99, 1}));
}

TEST(PendingCalls, TakeExpiredBeforeAnyDeadlineTakesNothing)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(10), 1));
    std::vector<std::uint64_t> out;
    t.take_expired(at(9), out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(t.size(), 1u);
}

TEST(PendingCalls, NextDeadlineFollowsRemovalOfTheEarliestCall)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(30), 1));
    ASSERT_TRUE(t.insert(2, at(10), 2));
    ASSERT_TRUE(t.insert(3, at(20), 3));
    EXPECT_EQ(t.next_deadline(), at(10));
    ASSERT_TRUE(t.take(2));
    EXPECT_EQ(t.next_deadline(), at(20));
    ASSERT_TRUE(t.take(1));
    EXPECT_EQ(t.next_deadline(), at(20));
    ASSERT_TRUE(t.take(3));
    EXPECT_FALSE(t.next_deadline());
}

TEST(PendingCalls, TakeAllEmptiesTheTableEarliestDeadlineFirst)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(30), 1));
    ASSERT_TRUE(t.insert(2, at(10), 2));
    ASSERT_TRUE(t.insert(3, at(20), 3));
    std::vector<std::uint64_t> out;
    t.take_all(out);
    EXPECT_EQ(out, (std::vector<std::uint64_t>{2, 3, 1}));
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.next_deadline());
    for (std::uint64_t id : {1u, 2u, 3u})
        EXPECT_FALSE(t.contains(id));
    EXPECT_FALSE(t.take(1));
}

TEST(PendingCalls, IdsCanBeReinsertedAfterTheyLeaveAndSizeReturnsToZero)
{
    table t;
    for (int round = 0; round < 1000; ++round) {
        for (std::uint64_t id = 1; id <= 8; ++id)
            ASSERT_TRUE(t.insert(id, at(round + static_cast<int>(id)), id));
        ASSERT_EQ(t.size(), 8u);
        ASSERT_EQ(t.take(3), std::optional<std::uint64_t>(3));
        std::vector<std::uint64_t> out;
        t.take_expired(at(round + 5), out);
        ASSERT_EQ(out, (std::vector<std::uint64_t>{1, 2, 4, 5}));
        out.clear();
        t.take_all(out);
        ASSERT_EQ(out, (std::vector<std::uint64_t>{6, 7, 8}));
        ASSERT_EQ(t.size(), 0u);
    }
}

TEST(PendingCalls, WorksWithAMoveOnlyHandler)
{
    mailroom::detail::pending_calls<std::unique_ptr<int>> t;
    ASSERT_TRUE(t.insert(1, at(10), std::make_unique<int>(10)));
    ASSERT_TRUE(t.insert(2, at(20), std::make_unique<int>(20)));
    ASSERT_TRUE(t.insert(3, at(30), std::make_unique<int>(30)));
    EXPECT_FALSE(t.insert(3, at(30), std::make_unique<int>(31)));

    auto two = t.take(2);
    ASSERT_TRUE(two && *two);
    EXPECT_EQ(**two, 20);

    std::vector<std::unique_ptr<int>> out;
    t.take_expired(at(10), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(*out[0], 10);

    ASSERT_TRUE(t.insert(4, at(5), std::make_unique<int>(5))); // reuses a freed slot
    t.take_all(out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(*out[1], 5);
    EXPECT_EQ(*out[2], 30);
}

TEST(PendingCalls, KeepsNoCopyOfAHandlerThatLeft)
{
    mailroom::detail::pending_calls<std::shared_ptr<int>> t;
    auto payload = std::make_shared<int>(1);
    ASSERT_TRUE(t.insert(1, at(10), payload));
    ASSERT_TRUE(t.insert(2, at(20), payload));
    ASSERT_TRUE(t.insert(3, at(30), payload));
    EXPECT_EQ(payload.use_count(), 4);
    t.take(1);
    EXPECT_EQ(payload.use_count(), 3);
    std::vector<std::shared_ptr<int>> out;
    t.take_expired(at(20), out);
    out.clear();
    EXPECT_EQ(payload.use_count(), 2);
    t.take_all(out);
    out.clear();
    EXPECT_EQ(payload.use_count(), 1);
}

TEST(PendingCalls, TakesAHandlerStraightIntoItsDestination)
{
    mailroom::detail::pending_calls<std::shared_ptr<int>> t;
    auto payload = std::make_shared<int>(1);
    ASSERT_TRUE(t.insert(1, at(10), payload));
    ASSERT_TRUE(t.insert(2, at(5), payload)); // an earlier deadline: in the heap, not the ring
    std::shared_ptr<int> out;
    EXPECT_TRUE(t.take(2, out));
    EXPECT_EQ(out, payload);
    EXPECT_EQ(payload.use_count(), 3) << "moved, not copied";
    auto kept = std::make_shared<int>(2);
    out = kept;
    EXPECT_FALSE(t.take(2, out)) << "taken once";
    EXPECT_FALSE(t.take(9, out));
    EXPECT_EQ(out, kept) << "left untouched";
    EXPECT_TRUE(t.take(1, out));
    EXPECT_EQ(out, payload);
    EXPECT_FALSE(t.next_deadline()) << "empty: the ring and the heap forgot both";
    ASSERT_TRUE(t.insert(3, at(1), payload)); // a freed slot is reused
    EXPECT_EQ(t.next_deadline(), at(1));
}

TEST(PendingCalls, MatchesAModelUnderRandomOperations)
{
    table t;
    // The model: id -> deadline, and deadline -> ids.
    std::map<std::uint64_t, time_point> by_id;
    std::multimap<time_point, std::uint64_t> by_deadline;
    auto model_erase = [&](std::uint64_t id) {
        const time_point d = by_id.at(id);
        auto [lo, hi] = by_deadline.equal_range(d);
        for (auto it = lo; it != hi; ++it)
            if (it->second == id) {
                by_deadline.erase(it);
                break;
            }
        by_id.erase(id);
    };

    std::mt19937_64 rng(1234);
    std::uniform_int_distribution<std::uint64_t> id_dist(1, 300);
    std::uniform_int_distribution<int> deadline_dist(0, 2'000);
    std::uniform_int_distribution<int> op_dist(0, 99);
    int now = 0;

    for (int step = 0; step < 20'000; ++step) {
        const int op = op_dist(rng);
        if (op < 50) {
            const std::uint64_t id = id_dist(rng);
            // Deadlines move forward with time, with ties and out-of-order inserts.
            const time_point d = at(now + deadline_dist(rng) / 10 * 10);
            const bool fresh = !by_id.contains(id);
            ASSERT_EQ(t.insert(id, d, id), fresh) << "step " << step;
            if (fresh) {
                by_id.emplace(id, d);
                by_deadline.emplace(d, id);
            }
        } else if (op < 85) {
            const std::uint64_t id = id_dist(rng);
            const auto got = t.take(id);
            if (by_id.contains(id)) {
                ASSERT_EQ(got, std::optional<std::uint64_t>(id)) << "step " << step;
                model_erase(id);
            } else {
                ASSERT_FALSE(got) << "step " << step;
            }
        } else if (op < 99) {
            now += deadline_dist(rng) / 20;
            std::vector<std::uint64_t> out;
            t.take_expired(at(now), out);
            std::multiset<std::uint64_t> expected;
            std::map<std::uint64_t, time_point> expired;
            while (!by_deadline.empty() && by_deadline.begin()->first <= at(now)) {
                const auto [d, id] = *by_deadline.begin();
                expected.insert(id);
                expired.emplace(id, d);
                by_id.erase(id);
                by_deadline.erase(by_deadline.begin());
            }
            ASSERT_EQ(std::multiset<std::uint64_t>(out.begin(), out.end()), expected)
                << "step " << step;
            for (std::size_t i = 1; i < out.size(); ++i)
                ASSERT_LE(expired.at(out[i - 1]), expired.at(out[i])) << "step " << step;
        } else {
            std::vector<std::uint64_t> out;
            t.take_all(out);
            ASSERT_EQ(out.size(), by_id.size()) << "step " << step;
            std::vector<time_point> deadlines;
            for (std::uint64_t id : out) {
                ASSERT_TRUE(by_id.contains(id)) << "step " << step;
                deadlines.push_back(by_id.at(id));
            }
            ASSERT_TRUE(std::is_sorted(deadlines.begin(), deadlines.end())) << "step " << step;
            by_id.clear();
            by_deadline.clear();
        }

        ASSERT_EQ(t.size(), by_id.size()) << "step " << step;
        ASSERT_EQ(t.empty(), by_id.empty()) << "step " << step;
        if (by_deadline.empty())
            ASSERT_FALSE(t.next_deadline()) << "step " << step;
        else
            ASSERT_EQ(t.next_deadline(), by_deadline.begin()->first) << "step " << step;
    }
}

} // namespace

namespace {

// The id index against a model, through growth, wrap-around and backward-shift erases:
// ids arrive in order (as a station issues them) and leave in any order.
TEST(PendingCalls, IdIndexMatchesAModel)
{
    mailroom::detail::id_index index;
    std::map<std::uint64_t, std::uint32_t> model;
    std::mt19937_64 rng(7);
    std::uint64_t next = 1;
    for (int step = 0; step < 200'000; ++step) {
        const bool add = model.size() < 50 || (model.size() < 3000 && rng() % 2 == 0);
        if (add) {
            const std::uint64_t id = rng() % 4 == 0 ? rng() | 1 : next++;
            if (model.contains(id))
                continue;
            index.insert(id, static_cast<std::uint32_t>(step));
            model[id] = static_cast<std::uint32_t>(step);
        } else {
            auto it = model.begin();
            std::advance(it, static_cast<long>(rng() % model.size()));
            ASSERT_EQ(index.erase(it->first), it->second) << "id " << it->first;
            model.erase(it);
        }
        if (step % 997 == 0) {
            ASSERT_EQ(index.size(), model.size());
            for (const auto& [id, slot] : model)
                ASSERT_EQ(index.find(id), slot) << "id " << id;
            ASSERT_EQ(index.find(next + 1000), mailroom::detail::id_index::npos);
            ASSERT_EQ(index.erase(next + 1000), mailroom::detail::id_index::npos);
            ASSERT_EQ(index.erase(0), mailroom::detail::id_index::npos) << "0 is never an id";
            ASSERT_EQ(index.size(), model.size()) << "erasing what is not there changes nothing";
        }
    }
}

// Calls answered while an older one stays pending leave stale deadline entries behind;
// they are dropped before the ring grows, so the table stays within about twice its size.
TEST(PendingCalls, AnsweredCallsDoNotAccumulateDeadlineEntries)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(1'000), 1));
    std::size_t most = 0;
    for (std::uint64_t id = 2; id < 100'000; ++id) {
        ASSERT_TRUE(t.insert(id, at(1'000 + static_cast<int>(id % 500)), id));
        if (id % 3 == 0) // some stay a little longer
            continue;
        ASSERT_EQ(t.take(id), std::optional<std::uint64_t>(id));
        if (id % 3 == 1) {
            ASSERT_EQ(t.take(id - 1), std::optional<std::uint64_t>(id - 1));
        }
        most = std::max(most, t.deadline_entries());
    }
    EXPECT_LE(most, 2 * t.size() + 64);
    EXPECT_EQ(t.next_deadline(), at(1'000));
    std::vector<std::uint64_t> out;
    t.take_all(out);
    EXPECT_EQ(out.front(), 1u);
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.next_deadline());
}

// Deadlines in call order go to the ring, earlier ones to the heap; expiry merges both.
TEST(PendingCalls, OutOfOrderDeadlinesExpireInOrder)
{
    table t;
    ASSERT_TRUE(t.insert(1, at(50), 1));
    ASSERT_TRUE(t.insert(2, at(100), 2));
    ASSERT_TRUE(t.insert(3, at(20), 3));
    ASSERT_TRUE(t.insert(4, at(70), 4));
    ASSERT_TRUE(t.insert(5, at(100), 5));
    EXPECT_EQ(t.next_deadline(), at(20));
    std::vector<std::uint64_t> out;
    t.take_expired(at(75), out);
    EXPECT_EQ(out, (std::vector<std::uint64_t>{3, 1, 4}));
    EXPECT_EQ(t.next_deadline(), at(100));
    EXPECT_EQ(t.take(2), std::optional<std::uint64_t>(2));
    EXPECT_EQ(t.next_deadline(), at(100));
    out.clear();
    t.take_all(out);
    EXPECT_EQ(out, (std::vector<std::uint64_t>{5}));
}

TEST(PendingCalls, RejectsIdZero)
{
    mailroom::detail::pending_calls<int> p;
    EXPECT_FALSE(p.insert(0, std::chrono::steady_clock::now(), 1));
    EXPECT_TRUE(p.empty());
}

} // namespace
