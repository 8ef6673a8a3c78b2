#include <mailroom/link/write_queue.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace mailroom {

namespace {

/// A batch buffer keeps up to this much capacity between bursts.
constexpr std::size_t keep_bytes = 64u << 10;

} // namespace

void write_queue::buffer::grow(std::size_t need)
{
    // Geometric, never zero-filled (a std::vector<char> value-initialises).
    const std::size_t fresh_cap = std::max({need, cap * 2, std::size_t{512}});
    auto fresh = std::make_unique_for_overwrite<char[]>(fresh_cap);
    if (size > 0)
        std::memcpy(fresh.get(), data.get(), size);
    data = std::move(fresh);
    cap = fresh_cap;
}

void write_queue::buffer::release() noexcept
{
    data.reset();
    size = cap = 0;
}

write_queue::write_queue(write_queue_limits limits, bool hold) noexcept
    : limits_(limits), hold_(hold)
{
}

write_queue::~write_queue() = default;

std::span<const char> write_queue::take_batch()
{
    // What is left of the previous batch counts as written (the driver asks only after the
    // socket took all of it).
    if (batch_.size != batch_written_)
        bytes_.fetch_sub(batch_.size - batch_written_, std::memory_order_relaxed);
    // After a burst the buffers are much larger than the writes: give the excess back (the
    // two buffers take turns, so both shrink within two writes).
    if (batch_.cap > keep_bytes && batch_.cap / 4 > batch_.size)
        batch_.release();
    batch_.size = 0;
    batch_written_ = 0;
    batch_frames_ = 0;
    if (out_.size == 0 || hold_ || closed_) {
        writing_ = false;
        return {};
    }
    std::swap(out_, batch_);
    batch_frames_ = std::exchange(frames_, 0);
    writing_ = true;
    return {batch_.data.get(), batch_.size};
}

bool write_queue::release_hold() noexcept
{
    if (!hold_)
        return false;
    hold_ = false;
    if (writing_ || out_.size == 0)
        return false;
    writing_ = true;
    return true;
}

void write_queue::discard(bool close) noexcept
{
    if (out_.size > 0)
        bytes_.fetch_sub(out_.size, std::memory_order_relaxed);
    out_.size = 0;
    frames_ = 0;
    if (close)
        closed_ = true;
}

std::size_t write_queue::capacity() const noexcept
{
    return out_.cap + batch_.cap;
}

bool write_queue::release_idle(std::size_t keep) noexcept
{
    if (writing_)
        return false;
    if (out_.cap > keep)
        out_.release();
    if (batch_.cap > keep)
        batch_.release();
    return true;
}

} // namespace mailroom
