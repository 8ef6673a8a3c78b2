#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mailroom::detail {

/** The table of calls waiting for a response: request id -> handler + deadline (sans-I/O).

    Each call leaves the table exactly once, through @ref take (response, cancel),
    @ref take_expired (timeout) or @ref take_all (disconnect, shutdown); whoever takes the
    handler completes it. Deadlines sit in an indexed binary heap, so removing a call that
    was answered early is O(log n) and leaves nothing behind, and slots are reused, so a
    steady load does not allocate.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (the station guards it with its lock).
*/
template <class Handler>
class pending_calls {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// Adds a call. Returns false (and drops nothing) if `id` is already pending.
    bool insert(std::uint64_t id, time_point deadline, Handler h)
    {
        if (index_.contains(id))
            return false;
        std::uint32_t slot;
        if (free_.empty()) {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(entry{id, deadline, std::move(h), 0});
        } else {
            slot = free_.back();
            free_.pop_back();
            slots_[slot] = entry{id, deadline, std::move(h), 0};
        }
        index_.emplace(id, slot);
        slots_[slot].heap_pos = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(slot);
        sift_up(heap_.size() - 1);
        return true;
    }

    /// Removes a call and returns its handler, or nothing if it is not pending (late reply).
    std::optional<Handler> take(std::uint64_t id)
    {
        auto it = index_.find(id);
        if (it == index_.end())
            return std::nullopt;
        std::uint32_t slot = it->second;
        index_.erase(it);
        return remove_slot(slot);
    }

    bool contains(std::uint64_t id) const { return index_.contains(id); }

    /// Moves the handlers of every call whose deadline is at or before `now` into `out`.
    void take_expired(time_point now, std::vector<Handler>& out)
    {
        while (!heap_.empty() && slots_[heap_.front()].deadline <= now) {
            std::uint32_t slot = heap_.front();
            index_.erase(slots_[slot].id);
            out.push_back(*remove_slot(slot));
        }
    }

    /// Moves every handler into `out`, earliest deadline first, and empties the table.
    void take_all(std::vector<Handler>& out)
    {
        while (!heap_.empty()) {
            std::uint32_t slot = heap_.front();
            index_.erase(slots_[slot].id);
            out.push_back(*remove_slot(slot));
        }
    }

    /// The earliest deadline, if any call is pending.
    std::optional<time_point> next_deadline() const
    {
        if (heap_.empty())
            return std::nullopt;
        return slots_[heap_.front()].deadline;
    }

    std::size_t size() const noexcept { return heap_.size(); }
    bool empty() const noexcept { return heap_.empty(); }

private:
    struct entry {
        std::uint64_t id;
        time_point deadline;
        std::optional<Handler> handler;
        std::uint32_t heap_pos;
    };

    std::optional<Handler> remove_slot(std::uint32_t slot)
    {
        std::size_t pos = slots_[slot].heap_pos;
        std::size_t last = heap_.size() - 1;
        if (pos != last) {
            swap_heap(pos, last);
            heap_.pop_back();
            if (!sift_up(pos))
                sift_down(pos);
        } else {
            heap_.pop_back();
        }
        std::optional<Handler> h = std::move(slots_[slot].handler);
        slots_[slot].handler.reset();
        free_.push_back(slot);
        return h;
    }

    bool less(std::size_t a, std::size_t b) const
    {
        return slots_[heap_[a]].deadline < slots_[heap_[b]].deadline;
    }

    void swap_heap(std::size_t a, std::size_t b)
    {
        std::swap(heap_[a], heap_[b]);
        slots_[heap_[a]].heap_pos = static_cast<std::uint32_t>(a);
        slots_[heap_[b]].heap_pos = static_cast<std::uint32_t>(b);
    }

    bool sift_up(std::size_t pos)
    {
        bool moved = false;
        while (pos > 0) {
            std::size_t parent = (pos - 1) / 2;
            if (!less(pos, parent))
                break;
            swap_heap(pos, parent);
            pos = parent;
            moved = true;
        }
        return moved;
    }

    void sift_down(std::size_t pos)
    {
        for (;;) {
            std::size_t l = 2 * pos + 1, r = l + 1, best = pos;
            if (l < heap_.size() && less(l, best))
                best = l;
            if (r < heap_.size() && less(r, best))
                best = r;
            if (best == pos)
                return;
            swap_heap(pos, best);
            pos = best;
        }
    }

    std::vector<entry> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<std::uint32_t> heap_;
    std::unordered_map<std::uint64_t, std::uint32_t> index_;
};

} // namespace mailroom::detail
