#pragma once

#include <msgpack.hpp>

#include <optional>

namespace mailroom::protocol::detail {

/** The zone to decode one received message into, reused: each I/O thread keeps one, cleared
    (back to its first chunk) when the lease ends, so decoding a usual message allocates
    nothing. A lease taken while the thread's zone is already leased (a handler that runs the
    I/O loop from inside a message) gets a zone of its own.
    The decoded views live until the lease ends: the message's handlers run inside it.
*/
class scratch_zone {
public:
    scratch_zone()
    {
        auto& t = thread_zone();
        if (!t.busy) {
            t.busy = true;
            if (!t.zone)
                t.zone.emplace();
            zone_ = &*t.zone;
            shared_ = true;
        } else {
            own_.emplace();
            zone_ = &*own_;
        }
    }

    ~scratch_zone()
    {
        if (shared_) {
            auto& t = thread_zone();
            t.zone->clear();
            t.busy = false;
        }
    }

    scratch_zone(const scratch_zone&) = delete;
    scratch_zone& operator=(const scratch_zone&) = delete;

    msgpack::zone& get() noexcept { return *zone_; }

private:
    struct per_thread {
        std::optional<msgpack::zone> zone;
        bool busy = false;
    };

    static per_thread& thread_zone()
    {
        static thread_local per_thread t;
        return t;
    }

    msgpack::zone* zone_ = nullptr;
    std::optional<msgpack::zone> own_;
    bool shared_ = false;
};

} // namespace mailroom::protocol::detail
