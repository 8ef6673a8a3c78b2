// The link core that every transport drives: bounds and coalescing of the write queue, the
// keepalive clock's decisions over time, the order of a close and the delivery batch. No
// sockets, no threads: the test plays the driver and the clock.

#include <mailroom/link/close_sequence.hpp>
#include <mailroom/link/delivery_batch.hpp>
#include <mailroom/link/handshake_guard.hpp>
#include <mailroom/link/keepalive_clock.hpp>
#include <mailroom/link/write_queue.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <span>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
using mailroom::close_sequence;
using mailroom::delivery_batch;
using mailroom::keepalive_clock;
using mailroom::write_queue;
using result = write_queue::append_result;

std::span<const char> bytes(std::string_view s)
{
    return {s.data(), s.size()};
}

std::string str(std::span<const char> s)
{
    return {s.begin(), s.end()};
}

// ---------------------------------------------------------------------------------------
// write_queue

TEST(WriteQueue, TheFirstFrameStartsAWriteAndFramesAppendedMeanwhileLeaveTogether)
{
    write_queue q;
    EXPECT_FALSE(q.writing());
    EXPECT_EQ(q.append(bytes("a")), result::start_write);
    EXPECT_TRUE(q.writing());
    EXPECT_EQ(str(q.take_batch()), "a");
    // The write of "a" is in flight: these join the next batch, no second write starts.
    EXPECT_EQ(q.append(bytes("bb")), result::queued);
    EXPECT_EQ(q.append(bytes("ccc")), result::queued);
    EXPECT_EQ(q.queued_bytes(), 6u);
    EXPECT_EQ(q.queued_frames(), 3u);
    q.written(1);
    EXPECT_EQ(q.queued_bytes(), 5u);
    EXPECT_EQ(str(q.take_batch()), "bbccc");
    EXPECT_EQ(q.batch_frames(), 2u);
    q.written(5);
    EXPECT_EQ(q.queued_bytes(), 0u);
    EXPECT_TRUE(q.take_batch().empty()); // the chain ends
    EXPECT_FALSE(q.writing());
    EXPECT_EQ(q.append(bytes("d")), result::start_write);
}

TEST(WriteQueue, APartialWriteKeepsItsRestCounted)
{
    write_queue q;
    q.append(bytes("0123456789"));
    auto b = q.take_batch();
    EXPECT_EQ(b.size(), 10u);
    q.written(4);
    EXPECT_EQ(q.queued_bytes(), 6u);
    q.written(6);
    EXPECT_EQ(q.queued_bytes(), 0u);
    EXPECT_TRUE(q.take_batch().empty());
}

TEST(WriteQueue, TheByteBoundCountsTheBatchInFlight)
{
    write_queue q({.max_bytes = 10, .max_frames = 100});
    EXPECT_EQ(q.append(bytes("123456")), result::start_write);
    q.take_batch(); // in flight, not yet written: still counts
    EXPECT_EQ(q.append(bytes("1234")), result::queued);
    EXPECT_EQ(q.append(bytes("x")), result::overflow);
    EXPECT_EQ(q.queued_bytes(), 10u) << "an overflowing frame is not queued";
    q.written(6);
    EXPECT_EQ(q.append(bytes("x")), result::queued);
}

TEST(WriteQueue, TheFrameBoundCountsTheBatchInFlight)
{
    write_queue q({.max_bytes = 1000, .max_frames = 3});
    q.append(bytes("a"));
    q.append(bytes("b"));
    q.take_batch();
    EXPECT_EQ(q.append(bytes("c")), result::queued);
    EXPECT_EQ(q.append(bytes("d")), result::overflow);
    q.written(2);
    q.take_batch(); // "c" in flight; "a" and "b" are gone
    EXPECT_EQ(q.append(bytes("d")), result::queued);
    EXPECT_EQ(q.append(bytes("e")), result::queued);
    EXPECT_EQ(q.append(bytes("f")), result::overflow);
}

TEST(WriteQueue, AHeldQueueAcceptsFramesAndStartsOnceReleased)
{
    write_queue q({}, true);
    EXPECT_EQ(q.append(bytes("hello")), result::queued);
    EXPECT_FALSE(q.writing());
    EXPECT_TRUE(q.take_batch().empty()) << "nothing leaves before the handshake";
    EXPECT_TRUE(q.release_hold());
    EXPECT_TRUE(q.writing());
    EXPECT_EQ(str(q.take_batch()), "hello");

    write_queue empty({}, true);
    EXPECT_FALSE(empty.release_hold()) << "nothing to write";
    EXPECT_EQ(empty.append(bytes("x")), result::start_write);
}

TEST(WriteQueue, DiscardDropsWhatWasNotTakenAndClosingDropsLaterFrames)
{
    write_queue q;
    q.append(bytes("sent"));
    q.take_batch();
    q.append(bytes("dropped"));
    q.discard(true);
    EXPECT_EQ(q.queued_bytes(), 4u) << "the batch in flight still goes";
    EXPECT_EQ(q.append(bytes("late")), result::discarded);
    q.written(4);
    EXPECT_TRUE(q.take_batch().empty());
    EXPECT_EQ(q.queued_bytes(), 0u);
}

TEST(WriteQueue, BuffersGiveBackTheirCapacityAfterABurst)
{
    write_queue q;
    const std::string big(1u << 20, 'b');
    q.append(bytes(big));
    q.written(q.take_batch().size());
    // Small writes now: each buffer is freed after the first write it carries that is four
    // times smaller than its capacity.
    for (int i = 0; i < 3; ++i) {
        q.append(bytes("s"));
        q.written(q.take_batch().size());
    }
    EXPECT_TRUE(q.take_batch().empty());
    EXPECT_LE(q.capacity(), 64u << 10);
}

TEST(WriteQueue, AnIdleQueueReleasesItsBuffersAndABusyOneDoesNot)
{
    write_queue q;
    q.append(bytes(std::string(8000, 'x')));
    q.take_batch();
    EXPECT_FALSE(q.release_idle(4096)) << "a write runs";
    EXPECT_GE(q.capacity(), 8000u);
    q.written(8000);
    EXPECT_TRUE(q.take_batch().empty());
    EXPECT_TRUE(q.release_idle(4096));
    EXPECT_EQ(q.capacity(), 0u);
    EXPECT_EQ(q.append(bytes("again")), result::start_write);
    EXPECT_EQ(str(q.take_batch()), "again");
}

// ---------------------------------------------------------------------------------------
// keepalive_clock

using tp = keepalive_clock::time_point;
const tp t0{std::chrono::seconds(1000)};

TEST(KeepaliveClock, PingsAfterTheIntervalOfSilenceOnceUntilBytesArrive)
{
    keepalive_clock ka({.interval = 10s, .timeout = 30s}, t0);
    EXPECT_EQ(ka.period(), 10s);
    EXPECT_EQ(ka.tick(t0 + 5s), keepalive_clock::action::none);
    EXPECT_EQ(ka.tick(t0 + 10s), keepalive_clock::action::send_ping);
    EXPECT_TRUE(ka.ping_outstanding());
    EXPECT_EQ(ka.tick(t0 + 20s), keepalive_clock::action::none) << "one ping outstanding";
    ka.received(t0 + 21s); // the pong, or any bytes
    EXPECT_FALSE(ka.ping_outstanding());
    EXPECT_EQ(ka.tick(t0 + 25s), keepalive_clock::action::none);
    EXPECT_EQ(ka.tick(t0 + 31s), keepalive_clock::action::send_ping);
}

TEST(KeepaliveClock, ClosesAfterTheTimeoutOfSilence)
{
    keepalive_clock ka({.interval = 10s, .timeout = 30s}, t0);
    EXPECT_EQ(ka.tick(t0 + 10s), keepalive_clock::action::send_ping);
    EXPECT_EQ(ka.tick(t0 + 29s), keepalive_clock::action::none);
    EXPECT_EQ(ka.tick(t0 + 30s), keepalive_clock::action::close);
}

TEST(KeepaliveClock, AnyBytesCountAsLife)
{
    keepalive_clock ka({.interval = 0ms, .timeout = 30s}, t0);
    EXPECT_EQ(ka.period(), 15s) << "half the timeout without an interval";
    for (int i = 1; i <= 10; ++i) {
        ka.received(t0 + std::chrono::seconds(20 * i));
        EXPECT_EQ(ka.tick(t0 + std::chrono::seconds(20 * i + 15)), keepalive_clock::action::none);
    }
    EXPECT_EQ(ka.tick(t0 + 230s), keepalive_clock::action::close);
}

TEST(KeepaliveClock, BytesReadBeforeThePingDoNotAnswerIt)
{
    keepalive_clock ka({.interval = 10s, .timeout = 0ms}, t0);
    EXPECT_EQ(ka.tick(t0 + 10s), keepalive_clock::action::send_ping);
    ka.received(t0 + 9s); // reported late by a layer that timestamps its reads
    EXPECT_TRUE(ka.ping_outstanding());
    EXPECT_EQ(ka.last_received(), t0 + 9s);
    ka.received(t0 + 11s);
    EXPECT_FALSE(ka.ping_outstanding());
}

TEST(KeepaliveClock, BytesThatCompleteNoFrameKeepTheLinkFromSilenceButAnswerNoPing)
{
    // Issue 16: a length prefix corrupted upwards turns every later pong into body bytes of a
    // frame that never completes. The link is not silent, and must still close.
    keepalive_clock ka({.interval = 10s, .timeout = 30s}, t0);
    EXPECT_EQ(ka.tick(t0 + 10s), keepalive_clock::action::send_ping);
    for (int s = 11; s < 40; s += 5) {
        ka.received_partial(t0 + std::chrono::seconds(s));
        EXPECT_TRUE(ka.ping_outstanding());
        EXPECT_EQ(ka.tick(t0 + std::chrono::seconds(s)), keepalive_clock::action::none) << s;
    }
    EXPECT_EQ(ka.last_received(), t0 + 36s);
    EXPECT_EQ(ka.tick(t0 + 40s), keepalive_clock::action::close) << "30 s after the ping";

    // A whole frame answers the ping: then partial bytes alone keep the link open.
    keepalive_clock ok({.interval = 10s, .timeout = 30s}, t0);
    EXPECT_EQ(ok.tick(t0 + 10s), keepalive_clock::action::send_ping);
    ok.received(t0 + 12s);
    for (int s = 15; s < 100; s += 5) {
        ok.received_partial(t0 + std::chrono::seconds(s)); // one long frame, arriving
        EXPECT_EQ(ok.tick(t0 + std::chrono::seconds(s)), keepalive_clock::action::none) << s;
    }
}

TEST(KeepaliveClock, DisabledRulesNeverFire)
{
    keepalive_clock off({.interval = 0ms, .timeout = 0ms}, t0);
    EXPECT_FALSE(off.enabled());
    EXPECT_EQ(off.period(), 0ms);
    EXPECT_EQ(off.tick(t0 + 1000h), keepalive_clock::action::none);

    keepalive_clock ping_only({.interval = 1s, .timeout = 0ms}, t0);
    EXPECT_EQ(ping_only.tick(t0 + 1000h), keepalive_clock::action::send_ping);
    EXPECT_EQ(ping_only.tick(t0 + 2000h), keepalive_clock::action::none);
}

TEST(KeepaliveClock, ThePeriodIsNoLongerThanTheTimeoutAndAtLeastAMillisecond)
{
    EXPECT_EQ(keepalive_clock({.interval = 10s, .timeout = 3s}, t0).period(), 3s);
    EXPECT_EQ(keepalive_clock({.interval = 0ms, .timeout = 1ms}, t0).period(), 1ms);
    keepalive_clock ka({.interval = 2s, .timeout = 0ms}, t0);
    EXPECT_EQ(ka.next_tick(t0 + 1s), t0 + 3s);
}

TEST(KeepaliveClock, APingUnansweredForTheStallTimeStallsTheLinkUntilAFrameArrives)
{
    keepalive_clock ka({.interval = 1s, .timeout = 10s, .stall = 500ms}, t0);
    EXPECT_EQ(ka.tick(t0 + 1s), keepalive_clock::action::send_ping);
    EXPECT_EQ(ka.tick(t0 + 1400ms), keepalive_clock::action::none);
    EXPECT_FALSE(ka.stalled());
    EXPECT_EQ(ka.tick(t0 + 1500ms), keepalive_clock::action::none);
    EXPECT_TRUE(ka.stalled());
    ka.received_partial(t0 + 1600ms); // bytes of a frame that never completes
    EXPECT_TRUE(ka.stalled());
    ka.received(t0 + 1700ms); // the pong
    EXPECT_FALSE(ka.stalled());
    EXPECT_FALSE(ka.ping_outstanding());

    keepalive_clock never({.interval = 1s, .timeout = 10s, .stall = 0ms}, t0);
    EXPECT_EQ(never.tick(t0 + 1s), keepalive_clock::action::send_ping);
    EXPECT_EQ(never.tick(t0 + 9s), keepalive_clock::action::none);
    EXPECT_FALSE(never.stalled());
}

TEST(KeepaliveClock, TheNextDueTickIsWhenTheNextRuleCanFireNotAPeriodLater)
{
    keepalive_clock ka({.interval = 10s, .timeout = 30s, .stall = 3s}, t0);
    EXPECT_EQ(ka.next_due(t0), t0 + 10s) << "the ping";
    ka.received(t0 + 4s);
    EXPECT_EQ(ka.next_due(t0 + 10s), t0 + 14s) << "silence counts from the last frame";
    EXPECT_EQ(ka.tick(t0 + 14s), keepalive_clock::action::send_ping);
    EXPECT_EQ(ka.next_due(t0 + 14s), t0 + 17s) << "the stall";
    EXPECT_EQ(ka.tick(t0 + 17s), keepalive_clock::action::none);
    EXPECT_TRUE(ka.stalled());
    EXPECT_EQ(ka.next_due(t0 + 17s), t0 + 27s) << "a period, before the close";
    EXPECT_EQ(ka.next_due(t0 + 27s), t0 + 34s) << "the close, 30 s after the last frame";
    EXPECT_EQ(ka.tick(t0 + 34s), keepalive_clock::action::close);
    EXPECT_EQ(ka.next_due(t0 + 40s), t0 + 40s + 1ms) << "never in the past";

    // Only a timeout: the close 30 s after the last bytes, not up to 15 s later.
    keepalive_clock t({.interval = 0ms, .timeout = 30s}, t0);
    EXPECT_EQ(t.next_due(t0 + 20s), t0 + 30s);
}

// ---------------------------------------------------------------------------------------
// close_sequence

TEST(CloseSequence, AFlushingCloseWaitsForTheQueueToDrain)
{
    close_sequence cs;
    EXPECT_FALSE(cs.closing());
    EXPECT_EQ(cs.request(true, true), close_sequence::step::after_flush);
    EXPECT_TRUE(cs.closing());
    EXPECT_TRUE(cs.waits_for_flush());
    EXPECT_TRUE(cs.drained());
    EXPECT_FALSE(cs.drained()) << "once";
    EXPECT_TRUE(cs.finish());
}

TEST(CloseSequence, WithoutFlushOrWithNothingQueuedTheCloseIsImmediate)
{
    close_sequence a;
    EXPECT_EQ(a.request(false, true), close_sequence::step::close_now);
    EXPECT_FALSE(a.drained());
    close_sequence b;
    EXPECT_EQ(b.request(true, false), close_sequence::step::close_now);
}

TEST(CloseSequence, TheCloseIsReportedExactlyOnceWhateverComesFirst)
{
    close_sequence cs;
    cs.mark_closing(); // e.g. an overflow, from a sender's thread
    EXPECT_TRUE(cs.closing());
    EXPECT_FALSE(cs.finished());
    EXPECT_TRUE(cs.finish()); // the error is reported
    EXPECT_TRUE(cs.finished());
    EXPECT_FALSE(cs.finish());
    // A close asked for later still orders the socket's close; it is not reported again.
    EXPECT_EQ(cs.request(false, false), close_sequence::step::close_now);
    EXPECT_FALSE(cs.finish());
}

TEST(CloseSequence, ASecondCloseRequestDoesNothing)
{
    close_sequence cs;
    EXPECT_EQ(cs.request(true, true), close_sequence::step::after_flush);
    EXPECT_EQ(cs.request(false, true), close_sequence::step::none);
    EXPECT_TRUE(cs.requested());
}

// ---------------------------------------------------------------------------------------
// delivery_batch with a write_queue: the driver's loop for one read

TEST(DeliveryBatch, RepliesSentWhileAReadIsDeliveredLeaveInOneWriteAfterIt)
{
    write_queue q;
    delivery_batch batch;
    int writes_started = 0;
    auto send = [&](std::string_view body) {
        if (q.append(bytes(body)) == result::start_write && !batch.defer())
            ++writes_started;
    };
    batch.begin();
    for (std::string_view body : {"r1", "r2", "r3"})
        send(body);
    EXPECT_EQ(writes_started, 0) << "deferred to the batch's end";
    ASSERT_TRUE(batch.end());
    EXPECT_EQ(str(q.take_batch()), "r1r2r3");
    EXPECT_FALSE(batch.end()) << "nothing due twice";

    // Outside a batch the send starts its write itself.
    q.written(6);
    EXPECT_TRUE(q.take_batch().empty());
    send("x");
    EXPECT_EQ(writes_started, 1);
}

TEST(DeliveryBatch, ABatchWithNoSendsStartsNoWrite)
{
    delivery_batch batch;
    batch.begin();
    EXPECT_TRUE(batch.active());
    EXPECT_FALSE(batch.end());
    EXPECT_FALSE(batch.active());
    EXPECT_FALSE(batch.defer());
}

} // namespace

namespace {

using mailroom::handshake_guard;

TEST(HandshakeGuard, ClosesAtTheDeadlineWhateverArrivesAndWaitsNoLongerThanIt)
{
    const auto t0 = handshake_guard::clock::time_point{} + 1h;
    handshake_guard g;
    EXPECT_FALSE(g.pending());
    EXPECT_EQ(g.wait(t0, 30s), 30s) << "unarmed: the keepalive's period";
    EXPECT_EQ(g.max_frame_size(8u << 20), 8u << 20);
    g.arm({.timeout = 10s, .max_frame_size = 64u << 10}, t0);
    EXPECT_TRUE(g.pending());
    EXPECT_EQ(g.max_frame_size(8u << 20), 64u << 10);
    EXPECT_EQ(g.max_frame_size(1000), 1000u) << "never above the link's own limit";
    EXPECT_EQ(g.wait(t0, 30s), 10s) << "the timer wakes at the deadline";
    EXPECT_EQ(g.wait(t0 + 4s, 0s), 6s) << "even without keepalive";
    EXPECT_EQ(g.wait(t0, 2s), 2s);
    EXPECT_FALSE(g.expired(t0 + 9999ms));
    EXPECT_TRUE(g.expired(t0 + 10s));
    EXPECT_EQ(g.wait(t0 + 11s, 0s), 1ms) << "past it: at once";
}

TEST(HandshakeGuard, TheHandshakeLiftsEveryLimit)
{
    const auto t0 = handshake_guard::clock::time_point{} + 1h;
    handshake_guard g;
    g.arm({.timeout = 10s, .max_frame_size = 64u << 10}, t0);
    g.done();
    EXPECT_FALSE(g.pending());
    EXPECT_FALSE(g.expired(t0 + 1h));
    EXPECT_EQ(g.max_frame_size(8u << 20), 8u << 20);
    EXPECT_EQ(g.wait(t0, 0s), 0s) << "no timer needed any more";
}

TEST(HandshakeGuard, LimitsOfZeroAreNoLimits)
{
    const auto t0 = handshake_guard::clock::time_point{} + 1h;
    handshake_guard g;
    g.arm({}, t0);
    EXPECT_FALSE(g.pending());
    EXPECT_FALSE(g.expired(t0 + 1h));
    g.arm({.timeout = 0s, .max_frame_size = 100}, t0);
    EXPECT_FALSE(g.expired(t0 + 1h));
    EXPECT_EQ(g.max_frame_size(8u << 20), 100u);
    EXPECT_EQ(g.wait(t0, 0s), 0s);
}

} // namespace
