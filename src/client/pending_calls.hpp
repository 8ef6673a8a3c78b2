#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace mailroom::detail {

/** Request id -> slot number, open addressing with linear probing (sans-I/O). Ids are
    nonzero (0 marks an empty cell). Kept at most half full; erasing shifts the following
    cells back instead of leaving tombstones, so a steady load neither allocates nor slows.
*/
class id_index {
public:
    static constexpr std::uint32_t npos = UINT32_MAX;

    std::uint32_t find(std::uint64_t id) const noexcept
    {
        // 0 marks an empty cell: it is never a call's id (a peer may still send it).
        if (cells_.empty() || id == 0)
            return npos;
        for (std::size_t i = home(id);; i = (i + 1) & mask())
            if (cells_[i].id == id)
                return cells_[i].slot;
            else if (cells_[i].id == 0)
                return npos;
    }

    /// Adds `id` (nonzero, not present).
    void insert(std::uint64_t id, std::uint32_t slot)
    {
        if ((size_ + 1) * 2 > cells_.size())
            rehash(cells_.empty() ? 16 : cells_.size() * 2);
        place(id, slot);
        ++size_;
    }

    /// Removes `id` if present: its slot, or npos if it was not there (one probe for both).
    std::uint32_t erase(std::uint64_t id) noexcept
    {
        if (cells_.empty() || id == 0)
            return npos;
        std::size_t i = home(id);
        while (cells_[i].id != id) {
            if (cells_[i].id == 0)
                return npos;
            i = (i + 1) & mask();
        }
        const std::uint32_t slot = cells_[i].slot;
        // Backward shift: move up every following cell whose home is not between the hole and it.
        for (std::size_t j = (i + 1) & mask(); cells_[j].id != 0; j = (j + 1) & mask()) {
            const std::size_t h = home(cells_[j].id);
            const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
            if (!stays) {
                cells_[i] = cells_[j];
                i = j;
            }
        }
        cells_[i] = cell{};
        --size_;
        return slot;
    }

    std::size_t size() const noexcept { return size_; }

private:
    struct cell {
        std::uint64_t id = 0;
        std::uint32_t slot = 0;
    };

    std::size_t mask() const noexcept { return cells_.size() - 1; }
    std::size_t home(std::uint64_t id) const noexcept
    {
        return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    void place(std::uint64_t id, std::uint32_t slot) noexcept
    {
        std::size_t i = home(id);
        while (cells_[i].id != 0)
            i = (i + 1) & mask();
        cells_[i] = cell{id, slot};
    }

    void rehash(std::size_t n)
    {
        std::vector<cell> old(n);
        old.swap(cells_);
        shift_ = 64;
        for (std::size_t m = n; m > 1; m >>= 1)
            --shift_;
        for (const auto& c : old)
            if (c.id != 0)
                place(c.id, c.slot);
    }

    std::vector<cell> cells_;
    std::size_t size_ = 0;
    unsigned shift_ = 64;
};

/** The table of calls waiting for a response: request id -> handler + deadline (sans-I/O).

    Each call leaves the table exactly once, through @ref take (response, cancel),
    @ref take_expired (timeout) or @ref take_all (disconnect, shutdown); whoever takes the
    handler completes it. Slots are reused, so a steady load does not allocate.

    Deadlines: a call whose deadline is not earlier than the last one queued (every call of
    a station that uses one timeout) joins a FIFO ring, where answering it costs nothing: it
    only leaves a stale entry behind, dropped when it reaches the front. The ring is
    compacted instead of grown whenever half of it is stale, so it never holds more than
    about twice the most calls pending at once. Any other deadline goes to an indexed binary heap
    (removal O(log n)). The earliest deadline is the earlier of the two fronts.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (the station guards it with its lock).
*/
template <class Handler>
class pending_calls {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// Adds a call. Returns false if `id` is 0 or already pending; `h` is then left as it was
    /// (an rvalue is moved from only on success), so the caller can still complete it.
    template <class H>
    bool insert(std::uint64_t id, time_point deadline, H&& h)
    {
        if (id == 0 || contains(id))
            return false;
        std::uint32_t slot;
        if (free_.empty()) {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(entry{id, 0, 0, Handler(std::forward<H>(h))});
        } else {
            slot = free_.back();
            free_.pop_back();
            slots_[slot].id = id;
            slots_[slot].handler.emplace(std::forward<H>(h));
        }
        index_.insert(id, slot);
        if (ring_count_ == 0 || !(deadline < ring_at(ring_count_ - 1).deadline)) {
            ring_push(ring_node{deadline, slot, slots_[slot].gen});
            slots_[slot].heap_pos = in_ring;
            ++ring_live_;
        } else {
            heap_.push_back(node{deadline, slot});
            place_up(heap_.size() - 1, heap_.back());
        }
        return true;
    }

    /// Removes a call and returns its handler, or nothing if it is not pending (late reply).
    std::optional<Handler> take(std::uint64_t id)
    {
        const std::uint32_t slot = index_.erase(id);
        if (slot == id_index::npos)
            return std::nullopt;
        return remove_slot(slot);
    }

    /** The same, moving the handler straight into `out` (one move on the path of every
        response): false, and `out` untouched, if `id` is not pending.
    */
    bool take(std::uint64_t id, Handler& out)
    {
        const std::uint32_t slot = index_.erase(id);
        if (slot == id_index::npos)
            return false;
        out = std::move(*slots_[slot].handler);
        unlink(slot);
        return true;
    }

    bool contains(std::uint64_t id) const { return index_.find(id) != id_index::npos; }

    /// Moves the handlers of every call whose deadline is at or before `now` into `out`,
    /// earliest first.
    void take_expired(time_point now, std::vector<Handler>& out)
    {
        for (auto next = earliest(); next && next->deadline <= now; next = earliest())
            out.push_back(take_earliest(*next));
    }

    /// Moves every handler into `out`, earliest deadline first, and empties the table.
    void take_all(std::vector<Handler>& out)
    {
        for (auto next = earliest(); next; next = earliest())
            out.push_back(take_earliest(*next));
    }

    /// The earliest deadline, if any call is pending.
    std::optional<time_point> next_deadline()
    {
        auto next = earliest();
        if (!next)
            return std::nullopt;
        return next->deadline;
    }

    std::size_t size() const noexcept { return index_.size(); }
    bool empty() const noexcept { return index_.size() == 0; }

    /// Deadline entries held, stale ones included (at most about twice the peak of size()).
    std::size_t deadline_entries() const noexcept { return ring_count_ + heap_.size(); }

private:
    static constexpr std::uint32_t in_ring = UINT32_MAX;

    struct entry {
        std::uint64_t id;
        std::uint32_t heap_pos; // in_ring: the deadline is in the ring
        std::uint32_t gen;      // bumped when a call in the ring leaves: its node goes stale
        std::optional<Handler> handler;
    };
    // The deadline sits in the heap itself, so sifting compares without visiting the slots.
    struct node {
        time_point deadline;
        std::uint32_t slot;
    };
    // A ring node is stale once its call left: its slot's generation moved on. (A stale node
    // is dropped by the next compaction, long before a slot's generation could wrap.)
    struct ring_node {
        time_point deadline;
        std::uint32_t slot;
        std::uint32_t gen;
    };
    struct front {
        time_point deadline;
        bool from_ring;
    };

    bool stale(const ring_node& n) const noexcept
    {
        const entry& e = slots_[n.slot];
        return e.heap_pos != in_ring || e.gen != n.gen;
    }

    ring_node& ring_at(std::size_t i) noexcept { return ring_[(ring_head_ + i) & (ring_.size() - 1)]; }

    void ring_push(const ring_node& n)
    {
        if (ring_count_ == ring_.size()) {
            if (ring_count_ - ring_live_ >= ring_count_ / 2 && ring_count_ > 0)
                ring_compact();
            else
                ring_grow();
        }
        ring_at(ring_count_) = n;
        ++ring_count_;
    }

    /// Drops every stale node, keeping the order of the rest.
    void ring_compact() noexcept
    {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < ring_count_; ++i)
            if (!stale(ring_at(i)))
                ring_at(kept++) = ring_at(i);
        ring_count_ = kept;
    }

    void ring_grow()
    {
        std::vector<ring_node> bigger(ring_.empty() ? 16 : ring_.size() * 2);
        for (std::size_t i = 0; i < ring_count_; ++i)
            bigger[i] = ring_at(i);
        ring_.swap(bigger);
        ring_head_ = 0;
    }

    /// The earliest deadline and where it is; drops stale nodes from the ring's front.
    std::optional<front> earliest() noexcept
    {
        while (ring_count_ > 0 && stale(ring_at(0))) {
            ring_head_ = (ring_head_ + 1) & (ring_.size() - 1);
            --ring_count_;
        }
        const bool ring = ring_count_ > 0;
        if (!ring && heap_.empty())
            return std::nullopt;
        if (ring && (heap_.empty() || !(heap_.front().deadline < ring_at(0).deadline)))
            return front{ring_at(0).deadline, true};
        return front{heap_.front().deadline, false};
    }

    Handler take_earliest(const front& f)
    {
        const std::uint32_t slot = f.from_ring ? ring_at(0).slot : heap_.front().slot;
        index_.erase(slots_[slot].id);
        return *remove_slot(slot);
    }

    std::optional<Handler> remove_slot(std::uint32_t slot)
    {
        std::optional<Handler> h = std::move(slots_[slot].handler);
        unlink(slot);
        return h;
    }

    /// Frees `slot` (its handler taken or not): out of the ring or the heap, emptied.
    void unlink(std::uint32_t slot)
    {
        entry& e = slots_[slot];
        if (e.heap_pos == in_ring) {
            // Its ring node goes stale; the ring drops it when it reaches the front.
            --ring_live_;
            ++e.gen;
        } else {
            const std::size_t pos = e.heap_pos;
            const node last = heap_.back();
            heap_.pop_back();
            if (pos < heap_.size()) {
                // Fill the hole with the last node, then move it up or down to its place.
                if (pos > 0 && last.deadline < heap_[(pos - 1) / 2].deadline)
                    place_up(pos, last);
                else
                    place_down(pos, last);
            }
        }
        e.handler.reset();
        free_.push_back(slot);
    }

    void put(std::size_t pos, const node& n)
    {
        heap_[pos] = n;
        slots_[n.slot].heap_pos = static_cast<std::uint32_t>(pos);
    }

    /// Puts `n` at the hole `pos` or above it, moving bigger parents down.
    void place_up(std::size_t pos, node n)
    {
        while (pos > 0) {
            const std::size_t parent = (pos - 1) / 2;
            if (!(n.deadline < heap_[parent].deadline))
                break;
            put(pos, heap_[parent]);
            pos = parent;
        }
        put(pos, n);
    }

    /// Puts `n` at the hole `pos` or below it, moving smaller children up.
    void place_down(std::size_t pos, node n)
    {
        const std::size_t size = heap_.size();
        for (;;) {
            std::size_t child = 2 * pos + 1;
            if (child >= size)
                break;
            if (child + 1 < size && heap_[child + 1].deadline < heap_[child].deadline)
                ++child;
            if (!(heap_[child].deadline < n.deadline))
                break;
            put(pos, heap_[child]);
            pos = child;
        }
        put(pos, n);
    }

    std::vector<entry> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<node> heap_;
    std::vector<ring_node> ring_; // capacity a power of two
    std::size_t ring_head_ = 0;
    std::size_t ring_count_ = 0;
    std::size_t ring_live_ = 0;
    id_index index_;
};

} // namespace mailroom::detail
