#pragma once

#include <chrono>
#include <future>
#include <stdexcept>

namespace mailroom::test {

/// Waits (up to a generous bound, as a safety net) for a future and returns its value.
template <class T>
T wait(std::future<T>& f, std::chrono::seconds limit = std::chrono::seconds(60))
{
    if (f.wait_for(limit) != std::future_status::ready)
        throw std::runtime_error("timed out waiting for a completion");
    return f.get();
}

} // namespace mailroom::test
