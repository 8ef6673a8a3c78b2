#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace mailroom::test {

/** Polls `pred` until it holds or `limit` passed. Only for state outside this process (a
    Redis server's lists, another process's descriptors, the kernel's socket queues), where
    there is no event to wait on; anything in this process waits on its completion.
*/
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(30))
{
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a polling period
    }
    return true;
}

} // namespace mailroom::test
